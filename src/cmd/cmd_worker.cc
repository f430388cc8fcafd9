// kiln worker — a build host of distributed mode: consumes its arch's queues on RabbitMQ,
// claims each build from the master over HTTP, builds it, uploads the artifacts and reports.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <thread>

#include "cmd/limit_flags.h"
#include "cmd/service_signals.h"
#include "cmd/subcommands.h"
#include "cmd/without_root.h"
#include "core/build_spec.h"
#include "core/text.h"
#include "sys/files.h"
#include "worker/remote_worker.h"

namespace kiln::cmd {
namespace fs = std::filesystem;
namespace {

struct WorkerFlags {
  std::string master, token_file, broker, arch = "x86_64", releases = "bookworm", id;
  std::string data_dir = "/var/lib/kiln-worker";
  std::string cache_dir;
  std::string run_as;  // as root: the user to become ("" = kiln if it exists)
  int capacity = 1;
  double cache_max_gib = 20;
  double lease_s = 30;
  double stop_grace_s = 300;
  stages::BuildLimits limits = stages::ServiceLimits();
};

std::string DefaultId(const std::string& arch) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + arch + ":" + std::to_string(getpid());
}

int RunWorker(const WorkerFlags& f) {
  worker::RemoteWorkerOptions o;
  std::optional<Arch> arch = ParseArch(f.arch);
  if (!arch) {
    std::cerr << "kiln worker: --arch " << f.arch << ": choose x86_64 or i686\n";
    return 2;
  }
  o.arch = std::string(ToString(*arch));
  for (const std::string& r : SplitNonEmpty(f.releases, ',')) {
    std::string release = ToLower(r);
    if (FindRelease(release) == nullptr) {
      std::cerr << "kiln worker: --release " << release << ": unknown release (known: bookworm, "
                << "trixie)\n";
      return 2;
    }
    o.releases.push_back(release);
  }
  if (o.releases.empty()) {
    std::cerr << "kiln worker: --release names at least one release (e.g. bookworm,trixie)\n";
    return 2;
  }
  if (f.master.rfind("http://", 0) != 0 && f.master.rfind("https://", 0) != 0) {
    std::cerr << "kiln worker: --master must be the master's URL, e.g. http://master:5000\n";
    return 2;
  }
  try {
    o.token = std::string(Trim(sys::ReadFileText(f.token_file)));
  } catch (const std::exception& e) {
    std::cerr << "kiln worker: cannot read the token file " << f.token_file << ": " << e.what()
              << " (an admin makes one with `kiln token create --worker NAME`)\n";
    return 2;
  }
  if (o.token.empty()) {
    std::cerr << "kiln worker: the token file " << f.token_file << " is empty\n";
    return 2;
  }
  o.master_url = f.master;
  o.broker_url = f.broker;
  o.id = f.id.empty() ? DefaultId(o.arch) : f.id;
  o.capacity = f.capacity;
  o.data_dir = fs::absolute(f.data_dir);
  if (!f.cache_dir.empty()) o.cache_dir = fs::absolute(f.cache_dir);
  if (!DropRoot("kiln worker", f.run_as,
                {{o.data_dir}, {o.cache_dir.empty() ? o.data_dir / "cache" : o.cache_dir}}, true)) {
    return 2;
  }
  umask(077);  // its token, builds and logs are the service's alone
  o.kiln_binary = fs::read_symlink("/proc/self/exe");
  o.cache_max_gib = f.cache_max_gib;
  o.limits = f.limits;
  o.lease = std::chrono::milliseconds(static_cast<int64_t>(f.lease_s * 1000));
  o.stop_grace = std::chrono::milliseconds(static_cast<int64_t>(f.stop_grace_s * 1000));

  // SIGTERM/SIGINT: stop taking builds, finish (or hand back) the running ones.
  sigset_t stop_signals = BlockStopSignals();
  std::atomic<bool> stop{false};
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stop = true;
  });
  signals.detach();  // ends with the process

  worker::RemoteWorker w(o);
  return w.Run(stop);
}

}  // namespace

void SetupWorker(CLI::App& app, Action& action) {
  auto f = std::make_shared<WorkerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "worker", "Run a build host: take builds from RabbitMQ, build them, report to the master");
  cmd->footer(
      "Example:\n  kiln worker --master http://master:5000 --token-file /etc/kiln/worker.token \\\n"
      "    --broker amqp://guest@broker// --arch x86_64 --release bookworm,trixie --capacity 2");
  cmd->add_option("--master", f->master, "the master's URL (http://HOST:5000)")->required();
  cmd->add_option("--token-file", f->token_file,
                  "file with a worker token (kiln token create --worker NAME)")
      ->required();
  cmd->add_option("--broker", f->broker, "RabbitMQ URL, e.g. amqp://guest@localhost//")->required();
  cmd->add_option("--arch", f->arch, "architecture this host builds (x86_64 or i686)");
  cmd->add_option("--release", f->releases, "releases it builds, comma-separated (bookworm)");
  cmd->add_option("--capacity", f->capacity, "builds at once (the queue prefetch)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--data-dir", f->data_dir,
                  "work and cache directory (default /var/lib/kiln-worker)");
  cmd->add_option("--cache-dir", f->cache_dir,
                  "stage and package cache (default DATA_DIR/cache; workers of one host may "
                  "share it)");
  cmd->add_option("--run-as", f->run_as,
                  "started as root: the user to run as, builds in its subordinate id range "
                  "(default kiln, if that account exists; root keeps root)");
  cmd->add_option("--id", f->id, "worker id shown on the workers page (default HOST:ARCH:PID)");
  cmd->add_option("--cache-max-gib", f->cache_max_gib, "bound of the stage cache in GiB");
  AddLimitFlags(cmd, f->limits);
  cmd->add_option("--lease", f->lease_s, "seconds a build is held without a heartbeat (30)")
      ->check(CLI::Range(2.0, 600.0));
  cmd->add_option("--stop-grace", f->stop_grace_s,
                  "after SIGTERM, seconds running builds may finish before they are handed "
                  "back (300)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([f, &action] { action = [f] { return RunWorker(*f); }; });
}

}  // namespace kiln::cmd
