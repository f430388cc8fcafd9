// libFuzzer target: imagebuild.conf reading into a BuildSpec, kickstart included.
#include <cstdint>
#include <string>

#include "spec/kickstart_loader.h"
#include "spec/spec_builder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  kiln::spec::MemoryResolver files;
  files.Add("debian-live.ks", "lang C\n%packages\nvim\n%end\n");
  kiln::Diagnostics diags;
  auto spec = kiln::spec::SpecFromImagebuildConfText(text, "fuzz.conf", {}, files, diags);
  (void)spec;
  return 0;
}
