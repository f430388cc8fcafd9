// Staging: a finished build's files copied to where its user wants them — a directory on the
// master (file:///DIR, only under the roots the server's config opens), an FTP server
// (anonymous, or with the config's credentials — never the request's) or an SFTP server (the
// config's key). Each file goes into a directory of the build's own (kiln-build-ID/), under a
// temporary name that is renamed when whole, and is checked by its size (and SHA-256 on the
// master's own disk); a file already there whole is left as it is, so a delivery tried again
// sends only what is missing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "spec/fetch_policy.h"

namespace kiln::delivery {

struct StagingConfig {
  std::vector<std::filesystem::path> file_roots;  // file:/// targets only below these
  std::string ftp_user, ftp_password;             // "" = anonymous
  std::string sftp_user = "kiln";
  std::filesystem::path sftp_key;          // private key file for sftp:// ("" = none)
  std::filesystem::path sftp_known_hosts;  // the servers' host keys ("" = not checked)
  long timeout_s = 600;                    // one file
};

// The [staging] section's keys: file_roots (comma-separated absolute paths), ftp_user,
// ftp_password, sftp_user, sftp_key, sftp_known_hosts, timeout.
Result<StagingConfig> StagingConfigFromKeys(const std::map<std::string, std::string>& keys);

struct StagedFile {
  std::filesystem::path source;  // on the master
  std::string name;              // as it is called at the target
  uint64_t size = 0;
  std::string sha256;
};

// Whether the server would stage to `url` at all (scheme, and a file:/// path below a root):
// "" if so, else why not — for the 422 at submit.
std::string StagingRefusal(const StagingConfig& config, const std::string& url);

// Copies the files into URL/kiln-build-ID/. The error names the file and what failed. FTP and
// SFTP connect only where `policy` lets them (null: anywhere), as the master's fetches and
// webhooks: a user's target must not reach the master's own services or the LAN unless the
// admin opened the range.
Status StageFiles(const StagingConfig& config, const std::string& url, int64_t build_id,
                  const std::vector<StagedFile>& files,
                  const spec::AddressPolicy* policy = nullptr);

}  // namespace kiln::delivery
