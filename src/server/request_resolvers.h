// Where the server reads a request's kickstart files from: the request itself, the files a
// multipart submit carries, and network URLs under the address policy and the caller's fetch
// slots — never a path on the server's own disk.
#pragma once

#include <chrono>
#include <string>

#include "core/build_spec.h"
#include "spec/kickstart_loader.h"

namespace kiln::server {

class Api;
struct ApiOptions;

// How one request's resolver fetches: the server's settings and the caller whose fetch slots
// it takes. A null `api`: nothing is fetched.
struct FetchAccess {
  Api* api = nullptr;
  const ApiOptions* options = nullptr;
  int64_t user_id = 0;
};

// The server reads kickstarts only from the request or from network URLs: never a path on
// its own disk (a "%include /etc/shadow" must not work), and a URL only where the address
// policy lets it connect (spec/fetch_policy.h), in a fetch slot of the caller's, all of one
// request's fetches within the fetch time limit.
class NetworkOnlyResolver : public spec::Resolver {
 public:
  // `may_block` false: a URL is not fetched but noted (needed_network), for a request that
  // runs on an I/O thread and goes to the slow pool if it needs the network after all.
  explicit NetworkOnlyResolver(FetchAccess access, bool may_block = true)
      : access_(access), may_block_(may_block) {}
  ~NetworkOnlyResolver() override;
  NetworkOnlyResolver(const NetworkOnlyResolver&) = delete;
  NetworkOnlyResolver& operator=(const NetworkOnlyResolver&) = delete;

  size_t MaxTextBytes() const override;

  bool needed_network = false;
  bool busy = false;  // no fetch slot was free: the request is answered 429
  Status Read(std::string_view ref, const spec::LoadedText* from, spec::LoadedText& out) override;

 private:
  FetchAccess access_;
  bool may_block_;
  bool holding_slot_ = false;
  std::chrono::steady_clock::time_point deadline_;
  size_t fetched_bytes_ = 0;
};

// The files a multipart submit carries (`kiln submit` sends the imagebuild.conf or kickstart
// with every local file it includes, each named as the client named it); anything else
// comes from the network as above.
class SentFilesResolver : public spec::Resolver {
 public:
  explicit SentFilesResolver(FetchAccess access) : network(access) {}
  size_t MaxTextBytes() const override { return network.MaxTextBytes(); }
  void Add(std::string name, std::string text) { files_.Add(std::move(name), std::move(text)); }
  Status Read(std::string_view ref, const spec::LoadedText* from, spec::LoadedText& out) override;

  NetworkOnlyResolver network;

 private:
  spec::MemoryResolver files_;
};

// The first package source of a spec that is not a network URL (a path or a file:// URL), or
// "": a request over the network may name mirrors and repositories only on the network.
std::string LocalSourceIn(const BuildSpec& spec);

}  // namespace kiln::server
