#include "core/request_fields.h"

namespace kiln {

namespace {

using F = RequestFields;

const RequestField kFields[] = {
    {"type", "--type", "Image type", "live, raw, qcow2, tar, boot or dvd", &F::type, nullptr,
     nullptr, false, "", "Image Type"},
    {"arch", "--arch", "Architecture", "x86_64 (amd64) or i686 (i386)", &F::arch, nullptr, nullptr,
     false, "", "Architecture"},
    {"release", "--release", "Release", "bookworm or trixie", &F::release, nullptr, nullptr, false,
     "", "Release"},
    {"name", "--name", "Image name", "image name (file names)", &F::name, nullptr, &BuildSpec::name,
     true},
    {"label", "--label", "Volume label", "ISO volume id", &F::label, nullptr, &BuildSpec::label,
     true, "live", "Label"},
    {"title", "--title", "Boot menu title", "boot menu title", &F::title, nullptr,
     &BuildSpec::title, true, "live,raw,qcow2", "Title"},
    {"product", "--product", "Product", "product name", &F::product, nullptr, &BuildSpec::product,
     true, "", "Product"},
    {"version", "--image-version", "Image version", "image version", &F::version, nullptr,
     &BuildSpec::version, true, "", "Version"},
    {"mirror", "--mirror", "Package mirror", "package mirror URL", &F::mirror, nullptr,
     &BuildSpec::mirror, true, "", "Base URL of the repository"},
    {"proxy", "--proxy", "HTTP proxy", "HTTP proxy for downloads", &F::proxy, nullptr,
     &BuildSpec::proxy, true, "", "Proxy URL"},
    {"script_network", "", "Network for %post", "none or outbound: what %post scripts may reach",
     &F::script_network, nullptr, &BuildSpec::script_network},
    {"extra_packages", "--package", "Extra packages",
     "extra package NAME[=VERSION], or a .deb file (repeatable)", nullptr, &F::extra_packages,
     nullptr, false, "", "NVR of extra packages (Multiple separate by ;)"},
    {"staging", "", "Staging", "where the finished image is copied (file:///, ftp://, sftp://)",
     nullptr, &F::staging, nullptr, false, "", "Staging FTP URL (No ftp://)"},
    {"email", "", "E-mail", "who is told when the build is accepted and when it ends", nullptr,
     &F::email, nullptr, false, "", "Email Address"},
};

}  // namespace

std::span<const RequestField> RequestFieldTable() { return kFields; }

const RequestField* FindRequestField(std::string_view key) {
  for (const RequestField& f : kFields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

}  // namespace kiln
