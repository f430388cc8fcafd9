// libFuzzer target: the kickstart reader and writer on arbitrary input. The input may name
// %include files; a small in-memory set of files makes includes (and cycles) reachable.
// Whatever parses must flatten, and the flattened text must parse again without errors.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "spec/kickstart_loader.h"
#include "spec/kickstart_parser.h"
#include "spec/kickstart_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  kiln::spec::MemoryResolver files;
  files.Add("inc.ks", "lang C\n%include ks.cfg\n");
  files.Add("pkgs.ks", "%packages\nvim\n%end\n");
  files.Add("ks.cfg", text);
  auto result = kiln::spec::ParseKickstartFile("ks.cfg", files);
  std::string flat = kiln::spec::WriteKickstart(result.kickstart);
  if (result.ok()) {
    kiln::spec::MemoryResolver none;
    auto again = kiln::spec::ParseKickstartText(flat, "flat.ks", none);
    // Flattening a valid kickstart must give a valid kickstart that flattens the same.
    if (!again.ok() || kiln::spec::WriteKickstart(again.kickstart) != flat) std::abort();
  }
  return 0;
}
