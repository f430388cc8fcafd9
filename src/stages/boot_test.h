// Boot-testing an image: boot a disk image (raw, qcow2) or an ISO in QEMU with its serial
// console captured to a file, and succeed when a login prompt appears. KVM is tried first;
// when it is missing or prints nothing (it hangs on some hosts), the boot is redone with TCG.
// The image itself is never written to (snapshot mode).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace kiln::stages {

enum class ImageFormat { kRaw, kQcow2, kIso };

// What a file holds, from its first bytes (qcow2 magic, ISO 9660 descriptor), else raw.
ImageFormat DetectImageFormat(const std::filesystem::path& image);

struct BootTestOptions {
  std::filesystem::path image;
  bool uefi = false;
  bool iso_as_disk = false;  // boot an ISO as a USB/hard disk instead of a CD
  std::chrono::seconds timeout{600};
  std::filesystem::path console_log;  // "" = IMAGE.console.log beside the image
  std::string expect = "login:";
  std::string accel = "auto";                     // "auto" (KVM, then TCG), "kvm" or "tcg"
  std::chrono::seconds kvm_probe{10};             // how long KVM may stay silent before TCG is used
  std::function<void(std::string_view)> on_line;  // what happens (not the console)
  const std::atomic<bool>* cancel = nullptr;
};

struct BootTestResult {
  bool ok = false;
  std::string accel;  // "kvm" or "tcg"
  double seconds = 0;
  std::string error;  // when !ok: what went wrong, with the console's last line
  std::filesystem::path console_log;
};

BootTestResult BootTest(const BootTestOptions& options);

}  // namespace kiln::stages
