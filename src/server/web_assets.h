// The web UI's files (web/ in the source tree), built into the binary by
// scripts/embed-web-assets.cmake.
#pragma once

#include <span>
#include <string_view>

namespace kiln::server {

struct WebAsset {
  std::string_view name;        // "kiln.css", "pages/dashboard.html"
  std::string_view media_type;  // "text/css; charset=utf-8"
  std::string_view content;
};

std::span<const WebAsset> WebAssets();

}  // namespace kiln::server
