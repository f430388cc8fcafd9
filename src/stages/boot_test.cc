#include "stages/boot_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "sys/process.h"

namespace kiln::stages {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kOvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
constexpr const char* kOvmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd";

std::string ReadAt(const fs::path& file, off_t offset, size_t len) {
  std::string buf(len, '\0');
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  ssize_t n = pread(fd, buf.data(), len, offset);
  close(fd);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return buf;
}

// The last non-empty line of the console text, without terminal escape sequences.
std::string LastConsoleLine(const std::string& text) {
  std::string clean;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {
      while (i < text.size() && !std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
      continue;
    }
    if (text[i] == '\r') continue;
    clean += text[i];
  }
  size_t end = clean.find_last_not_of(" \n\t");
  if (end == std::string::npos) return "";
  size_t start = clean.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return clean.substr(start, end - start + 1);
}

enum class Watch { kRunning, kFound, kPanic, kSilent, kTimeout, kCanceled };

struct Attempt {
  Watch outcome = Watch::kRunning;
  sys::RunResult run;
  std::string console;  // everything the console printed
  double seconds = 0;
};

// One boot with one accelerator: QEMU runs while a watcher reads the console file.
Attempt RunQemu(const BootTestOptions& o, const std::vector<std::string>& argv,
                const fs::path& console, bool probe_silence) {
  std::atomic<bool> stop{false};
  Attempt a;
  auto start = Clock::now();
  std::thread watcher([&] {
    std::ifstream in;
    size_t seen = 0;
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (!in.is_open()) in.open(console, std::ios::binary);
      if (in.is_open()) {
        in.clear();
        std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        a.console += chunk;
      }
      // Look only at what is new (with a little overlap for a split word).
      size_t from = seen > o.expect.size() ? seen - o.expect.size() : 0;
      seen = a.console.size();
      auto elapsed = Clock::now() - start;
      if (a.console.find(o.expect, from) != std::string::npos) {
        a.outcome = Watch::kFound;
      } else if (a.console.find("Kernel panic", from) != std::string::npos) {
        a.outcome = Watch::kPanic;
      } else if (probe_silence && a.console.empty() && elapsed > o.kvm_probe) {
        a.outcome = Watch::kSilent;
      } else if (elapsed > o.timeout) {
        a.outcome = Watch::kTimeout;
      } else if (o.cancel != nullptr && o.cancel->load()) {
        a.outcome = Watch::kCanceled;
      } else {
        continue;
      }
      a.seconds = std::chrono::duration<double>(elapsed).count();
      stop = true;
    }
  });
  sys::RunOptions run;
  run.argv = argv;
  run.cancel = &stop;
  run.kill_grace = std::chrono::milliseconds(500);
  run.on_line = [&](std::string_view line) {
    if (o.on_line) o.on_line(std::string("qemu: ") + std::string(line));
  };
  a.run = sys::RunProcess(run);
  stop = true;
  watcher.join();
  if (a.outcome == Watch::kRunning) {
    a.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return a;
}

}  // namespace

ImageFormat DetectImageFormat(const fs::path& image) {
  if (ReadAt(image, 0, 4) == "QFI\xfb") return ImageFormat::kQcow2;
  if (ReadAt(image, 0x8001, 5) == "CD001") return ImageFormat::kIso;
  return ImageFormat::kRaw;
}

namespace {

// QEMU's command line without the accelerator and console: the machine, the image as a disk
// (or CD-ROM), and for UEFI the firmware with a copy of its variables in `tmp`.
std::vector<std::string> QemuBaseArgs(const BootTestOptions& o, ImageFormat format,
                                      const fs::path& tmp) {
  std::vector<std::string> base = {"qemu-system-x86_64",
                                   "-m",
                                   "1024",
                                   "-smp",
                                   "2",
                                   "-display",
                                   "none",
                                   "-vga",
                                   "none",
                                   "-monitor",
                                   "none",
                                   "-no-reboot",
                                   "-nic",
                                   "user,model=virtio-net-pci"};
  std::string file = "file=" + o.image.string();
  if (format == ImageFormat::kIso && !o.iso_as_disk) {
    base.insert(base.end(), {"-drive", file + ",format=raw,media=cdrom,readonly=on"});
  } else {
    std::string fmt = format == ImageFormat::kQcow2 ? "qcow2" : "raw";
    base.insert(base.end(), {"-drive", file + ",format=" + fmt + ",if=virtio,snapshot=on"});
  }
  if (o.uefi) {
    std::error_code ec;
    fs::copy_file(kOvmfVars, tmp / "vars.fd", ec);
    base.insert(base.end(),
                {"-drive", std::string("if=pflash,format=raw,unit=0,readonly=on,file=") + kOvmfCode,
                 "-drive", "if=pflash,format=raw,unit=1,file=" + (tmp / "vars.fd").string()});
  }
  return base;
}

// The accelerators to try in order: the one asked for, else KVM (when usable) then TCG.
std::vector<std::string> Accelerators(const BootTestOptions& o) {
  std::vector<std::string> accels = {"kvm", "tcg"};
  if (o.accel == "kvm" || o.accel == "tcg") {
    accels = {o.accel};
  } else if (access("/dev/kvm", R_OK | W_OK) != 0) {
    accels = {"tcg"};
  }
  return accels;
}

// Why a boot that reached no login prompt failed, with the console's last line.
std::string BootFailure(const BootTestOptions& o, const Attempt& a) {
  std::string error;
  std::string last_line = LastConsoleLine(a.console);
  switch (a.outcome) {
    case Watch::kPanic:
      error = "the kernel panicked: " + last_line;
      break;
    case Watch::kTimeout:
      error = "no login prompt within " + std::to_string(o.timeout.count()) + " s";
      break;
    case Watch::kCanceled:
      error = "canceled";
      break;
    default:
      error = "QEMU stopped (" + a.run.Describe() +
              (a.run.tail.empty() ? "" : ": " + a.run.tail.back()) + ") before a login prompt";
      break;
  }
  if (!last_line.empty() && a.outcome != Watch::kPanic) {
    error += "; the console's last line: " + last_line;
  }
  return error;
}

}  // namespace

BootTestResult BootTest(const BootTestOptions& o) {
  BootTestResult result;
  result.console_log = o.console_log;
  if (result.console_log.empty()) {
    result.console_log = o.image;
    result.console_log += ".console.log";
  }
  std::error_code ec;
  if (!fs::is_regular_file(o.image, ec)) {
    result.error = "no image file at " + o.image.string();
    return result;
  }
  if (o.uefi && !fs::exists(kOvmfCode)) {
    result.error =
        std::string("UEFI boot needs the OVMF firmware at ") + kOvmfCode + " (Debian package ovmf)";
    return result;
  }
  ImageFormat format = DetectImageFormat(o.image);
  char tmpl[] = "/tmp/kiln-boot-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    result.error = std::string("cannot make a temporary directory: ") + std::strerror(errno);
    return result;
  }
  fs::path tmp = tmpl;
  std::vector<std::string> base = QemuBaseArgs(o, format, tmp);
  std::vector<std::string> accels = Accelerators(o);
  for (size_t i = 0; i < accels.size(); ++i) {
    const std::string& accel = accels[i];
    bool last = i + 1 == accels.size();
    fs::remove(result.console_log, ec);
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), {"-accel", accel, "-serial", "file:" + result.console_log.string()});
    if (o.on_line) {
      o.on_line("booting " + o.image.filename().string() + " with " + accel +
                (o.uefi ? " (UEFI)" : " (BIOS)") + ", console in " + result.console_log.string());
    }
    Attempt a = RunQemu(o, argv, result.console_log, !last);
    result.accel = accel;
    result.seconds = a.seconds;
    if (a.outcome == Watch::kFound) {
      result.ok = true;
      break;
    }
    if (a.outcome == Watch::kSilent ||
        (!last && a.outcome == Watch::kRunning && a.run.kind == sys::ExitKind::kExited &&
         a.run.code != 0 && a.console.empty())) {
      if (o.on_line) o.on_line(accel + " printed nothing; trying the next accelerator");
      continue;
    }
    result.error = BootFailure(o, a);
    break;
  }
  fs::remove_all(tmp, ec);
  return result;
}

}  // namespace kiln::stages
