// Kickstart reader benchmarks: the real Fedora corpus (flatten + parse, as `kiln ks flatten`
// does) and generated kickstarts of 1, 5 and 20 MB, to show that cost grows linearly.
//
//   build/release/bench/kiln_ks_bench --benchmark_counters_tabular=true
// bench/run.sh runs it and records the results under bench/results/.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "spec/kickstart_loader.h"
#include "spec/kickstart_parser.h"
#include "spec/kickstart_writer.h"

namespace {

namespace fs = std::filesystem;
using kiln::spec::FileResolver;
using kiln::spec::MemoryResolver;
using kiln::spec::ParseKickstartFile;
using kiln::spec::ParseKickstartText;
using kiln::spec::WriteKickstart;

// A kickstart of about `bytes` bytes mixing what real files hold: one-off commands,
// repeated data commands, a large %packages section and %post scripts.
std::string GenerateKickstart(size_t bytes) {
  std::string ks =
      "lang en_US.UTF-8\nkeyboard us\ntimezone Etc/UTC --utc\nrootpw --lock\n"
      "bootloader --timeout=1 --append=\"console=ttyS0,115200 quiet\"\n"
      "zerombr\nclearpart --all --initlabel\n";
  size_t i = 0;
  while (ks.size() < bytes) {
    std::string n = std::to_string(i++);
    ks += "part /srv/data" + n + " --fstype=ext4 --size=" + std::to_string(100 + i % 900) +
          " --label=data" + n + "\n";
    ks += "network --device=eth" + n + " --bootproto=static --ip=10.0." + std::to_string(i % 250) +
          "." + std::to_string(i % 200 + 1) + " --netmask=255.255.255.0 --hostname=host" + n + "\n";
    ks += "user --name=user" + n + " --groups=wheel,users --password=secret" + n + " --plaintext\n";
    ks +=
        "%packages --excludedocs\npackage-" + n + "\n@group-" + n + "\n-excluded-" + n + "\n%end\n";
    ks += "%post --log=/root/post" + n + ".log\necho \"step " + n +
          "\" >> /var/log/steps\nsed -i 's/a/b/' /etc/file" + n + "\n%end\n";
  }
  return ks;
}

void BM_ParseGenerated(benchmark::State& state) {
  size_t bytes = static_cast<size_t>(state.range(0)) << 20;
  std::string text = GenerateKickstart(bytes);
  MemoryResolver resolver;
  for (auto _ : state) {
    auto result = ParseKickstartText(text, "generated.ks", resolver);
    if (!result.ok()) state.SkipWithError("generated kickstart did not parse");
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}
BENCHMARK(BM_ParseGenerated)->Arg(1)->Arg(5)->Arg(20)->Unit(benchmark::kMillisecond);

void BM_FlattenGenerated(benchmark::State& state) {
  size_t bytes = static_cast<size_t>(state.range(0)) << 20;
  std::string text = GenerateKickstart(bytes);
  MemoryResolver resolver;
  for (auto _ : state) {
    auto result = ParseKickstartText(text, "generated.ks", resolver);
    std::string out = WriteKickstart(result.kickstart);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_FlattenGenerated)->Arg(1)->Arg(5)->Arg(20)->Unit(benchmark::kMillisecond);

// Every top-level Fedora kickstart of ../shared/kickstarts, read with its includes from disk
// and flattened.
void BM_FlattenFedoraCorpus(benchmark::State& state) {
  fs::path dir = fs::path(KILN_SHARED_DIR) / "kickstarts";
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("fedora-", 0) == 0 && e.path().extension() == ".ks") {
      files.push_back(e.path().string());
    }
  }
  if (files.empty()) {
    state.SkipWithError("../shared/kickstarts is absent");
    return;
  }
  FileResolver resolver;
  size_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& f : files) {
      auto result = ParseKickstartFile(f, resolver);
      std::string out = WriteKickstart(result.kickstart);
      bytes += out.size();
      benchmark::DoNotOptimize(out);
    }
  }
  state.counters["files"] = static_cast<double>(files.size());
  state.counters["files/s"] = benchmark::Counter(
      static_cast<double>(files.size() * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FlattenFedoraCorpus)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
