#include "server/request_resolvers.h"

#include "core/text.h"
#include "server/api.h"
#include "spec/kickstart_parser.h"
#include "spec/line_stream.h"
#include "spec/typed_commands.h"

namespace kiln::server {

NetworkOnlyResolver::~NetworkOnlyResolver() {
  if (holding_slot_) access_.api->ReturnFetchSlot(access_.user_id);
}

size_t NetworkOnlyResolver::MaxTextBytes() const {
  return access_.options != nullptr ? access_.options->kickstart_limit : 0;
}

Status NetworkOnlyResolver::Read(std::string_view ref, const spec::LoadedText* from,
                                 spec::LoadedText& out) {
  std::string resolved = from != nullptr && !spec::IsUrl(ref)
                             ? spec::ResolveRelative(from->name, ref)
                             : std::string(ref);
  if (!spec::IsUrl(resolved) || StartsWith(resolved, "file:")) {
    return Status::Error(
        "the server reads included files only from http, https or ftp URLs, not '" +
        std::string(ref) + "'; flatten the kickstart first (kiln ks flatten) or use a URL");
  }
  if (access_.api == nullptr || !access_.options->fetch_urls) {
    return Status::Error("this server does not fetch URLs");
  }
  if (!may_block_) {
    needed_network = true;
    return Status::Error("fetched on the slow pool");
  }
  if (!holding_slot_) {
    if (!access_.api->TakeFetchSlot(access_.user_id)) {
      busy = true;
      return Status::Error("the server is fetching too many URLs at once; retry in a few seconds");
    }
    holding_slot_ = true;
    deadline_ =
        std::chrono::steady_clock::now() + std::chrono::seconds(access_.options->fetch_timeout_s);
  }
  long left = static_cast<long>(
      std::chrono::duration_cast<std::chrono::seconds>(deadline_ - std::chrono::steady_clock::now())
          .count());
  if (left < 1) {
    return Status::Error("the request's URLs took longer than " +
                         std::to_string(access_.options->fetch_timeout_s) + " s to fetch");
  }
  // All files of one request together: a kickstart including one file many times must not
  // make the server hold many times the limit.
  size_t limit = access_.options->kickstart_limit;
  if (fetched_bytes_ >= 4 * limit) {
    return Status::Error("the request's included files add up to more than " +
                         std::to_string(4 * limit >> 10) + " KiB");
  }
  spec::FetchOptions fetch;
  fetch.total_timeout_s = left;
  fetch.connect_timeout_s = std::min(left, 10L);
  fetch.max_bytes = std::min(limit, 4 * limit - fetched_bytes_);
  fetch.policy = &access_.api->fetch_policy();
  spec::FileResolver files(fetch);
  if (Status read = files.Read(resolved, from, out); !read.ok()) return read;
  fetched_bytes_ += out.text.size();
  return Status::Ok();
}

Status SentFilesResolver::Read(std::string_view ref, const spec::LoadedText* from,
                               spec::LoadedText& out) {
  if (files_.Read(ref, from, out).ok()) {
    if (size_t max = MaxTextBytes(); max > 0 && out.text.size() > max) {
      return Status::Error("it is larger than this server takes (" + std::to_string(max >> 10) +
                           " KiB)");
    }
    return Status::Ok();
  }
  std::string target = from != nullptr ? spec::ResolveRelative(from->name, ref) : std::string(ref);
  if (spec::IsUrl(target) && !StartsWith(target, "file:")) {
    return network.Read(ref, from, out);
  }
  return Status::Error("'" + target +
                       "' was not sent with the request; send it as an 'include' part (kiln submit "
                       "sends every file it includes) or use a URL");
}

std::string LocalSourceIn(const BuildSpec& spec) {
  auto local = [](const std::string& u) {
    std::string lower = ToLower(u);
    return !u.empty() && !StartsWith(lower, "http://") && !StartsWith(lower, "https://") &&
           !StartsWith(lower, "ftp://");
  };
  if (local(spec.mirror)) return spec.mirror;
  // Only the top-level url and repo commands matter: those lines of the (flattened, written
  // by kiln) kickstart are parsed, not its script bodies, which may be most of it.
  std::string sources;
  bool in_section = false;
  spec::LineSplitter lines(spec.kickstart);
  for (std::string_view line; lines.Next(line);) {
    std::string_view t = Trim(line);
    if (in_section) {
      in_section = t != "%end";
    } else if (StartsWith(t, "%")) {
      in_section = true;
    } else if (StartsWith(t, "url") || StartsWith(t, "repo")) {
      sources.append(line).push_back('\n');
    }
  }
  spec::MemoryResolver none;
  spec::ParseResult parsed = spec::ParseKickstartText(std::move(sources), "kickstart", none);
  if (const spec::ParsedCommand* url = parsed.kickstart.Single("url")) {
    if (const std::string* u = url->String("url"); u != nullptr && local(*u)) return *u;
  }
  for (const spec::RepoData& r : spec::ReadRepos(parsed.kickstart)) {
    if (local(r.baseurl)) return r.baseurl;
  }
  return {};
}

}  // namespace kiln::server
