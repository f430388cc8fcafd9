// kiln boot-test — boots an image in QEMU and waits for a login prompt on its serial console.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cmd/cancel_signals.h"
#include "cmd/subcommands.h"
#include "stages/boot_test.h"

namespace kiln::cmd {
namespace {

struct BootTestCliOptions {
  std::string image;
  bool uefi = false;
  bool as_disk = false;
  int timeout_s = 600;
  std::string console_log;
  std::string accel = "auto";
};

int BootTestCommand(const BootTestCliOptions& o) {
  stages::BootTestOptions options;
  options.image = o.image;
  options.uefi = o.uefi;
  options.iso_as_disk = o.as_disk;
  options.timeout = std::chrono::seconds(o.timeout_s);
  options.console_log = o.console_log;
  options.accel = o.accel;
  options.cancel = &CancelSignals::Catch();
  options.on_line = [](std::string_view line) { std::cerr << "boot-test: " << line << "\n"; };
  stages::BootTestResult r = stages::BootTest(options);
  if (!r.ok) {
    std::cerr << "kiln boot-test: " << o.image << ": " << r.error
              << "\n  console log: " << r.console_log.string() << "\n";
    return CancelSignals::canceled() ? CancelSignals::ExitCode() : 1;
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f", r.seconds);
  std::cout << o.image << ": login prompt after " << seconds << " s (" << r.accel << ", "
            << (o.uefi ? "UEFI" : "BIOS") << ")\n  console log: " << r.console_log.string() << "\n";
  return 0;
}

}  // namespace

void SetupBootTest(CLI::App& app, Action& action) {
  auto o = std::make_shared<BootTestCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "boot-test",
      "Boot a disk image or ISO in QEMU and wait for a login prompt on the serial console\n"
      "  example: kiln boot-test kiln-out/debian-minimal.qcow2 --uefi");
  cmd->add_option("IMAGE", o->image, "raw, qcow2 or ISO image")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_flag("--uefi", o->uefi, "boot with UEFI firmware (OVMF) instead of BIOS");
  cmd->add_flag("--as-disk", o->as_disk, "boot an ISO as a USB/hard disk instead of a CD");
  cmd->add_option("--timeout", o->timeout_s, "seconds to wait for the login prompt (default 600)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--console-log", o->console_log,
                  "where to keep the serial console (default IMAGE.console.log)");
  cmd->add_option("--accel", o->accel,
                  "auto (KVM, falling back to TCG when KVM is missing or silent), kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  cmd->callback([o, &action] { action = [o] { return BootTestCommand(*o); }; });
}

}  // namespace kiln::cmd
