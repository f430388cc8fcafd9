// libFuzzer target: raw bytes through the server's request path — Beast's parser with the
// server's limits, target decoding, routing, authentication and the handlers — against a
// real store in a temporary directory. The input may use the token "TOKEN", which is a real
// admin token, so the authenticated routes are reachable. Nothing may crash or leak, and
// every answer is a status the API documents for some route.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "auth/credentials.h"
#include "server/api.h"
#include "server/coordinator.h"
#include "server/http_server.h"
#include "store/store.h"

namespace {

struct World {
  World() {
    dir = std::filesystem::temp_directory_path() / ("kiln-fuzz-http-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = kiln::store::Store::Open(dir / "kiln.db");
    int64_t admin = store->AddUser("admin", kiln::Role::kAdmin, "");
    store->AddToken(admin, "fuzz", kiln::auth::SecretHash("TOKEN"));
    coordinator = std::make_unique<kiln::server::Coordinator>(*store, dir);
    kiln::server::ApiOptions api_options;
    api_options.fetch_urls = false;  // no network: a URL would make a slow input
    api = std::make_unique<kiln::server::Api>(*coordinator, api_options);
    options.body_limit = 1 << 20;
  }
  ~World() { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
  std::unique_ptr<kiln::store::Store> store;
  std::unique_ptr<kiln::server::Coordinator> coordinator;
  std::unique_ptr<kiln::server::Api> api;
  kiln::server::HttpServerOptions options;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  std::string raw(reinterpret_cast<const char*>(data), size);
  int status = kiln::server::HandleRawRequest(*world.api, raw, world.options);
  if (status < 200 || status > 599) std::abort();
  return 0;
}
