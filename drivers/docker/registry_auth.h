#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fnrunner {

// An image reference split the way the pull API wants it (spec §6.2).
struct ImageRef {
  std::string registry;    // "" for Docker Hub
  std::string repository;  // "library/busybox", "team/app"
  std::string tag;         // tag or "sha256:..." digest; "latest" when none was given
  // The pull's fromImage parameter: "<registry>/<repository>" or "<repository>".
  std::string FromImage() const;
};
ImageRef ParseImageRef(absl::string_view image);

// Docker's AuthConfig, as sent in X-Registry-Auth. Empty fields are omitted.
struct RegistryAuthConfig {
  std::string username;
  std::string password;
  std::string email;
  std::string server_address;
  std::string identity_token;
  std::string registry_token;
  bool empty() const;
};

// The X-Registry-Auth value: URL-safe base64 (with padding, which the engine's decoder
// requires) of the JSON object. "" when `auth` is empty (then no header is sent).
std::string EncodeRegistryAuth(const RegistryAuthConfig& auth);

// Static registry credentials loaded once (FN_DOCKER_AUTH or the Docker config file) and
// matched by registry host. Immutable after construction, so thread-safe.
class RegistryCredentials {
 public:
  RegistryCredentials() = default;
  // Parses a Docker config document: {"auths": {"<server>": {"auth": base64(user:pass),
  // "identitytoken": ..., "registrytoken": ..., "email": ...}}} or the legacy flat map
  // without "auths". InvalidArgument naming `source` if it is not such a document.
  static absl::StatusOr<RegistryCredentials> Parse(absl::string_view json,
                                                   absl::string_view source);
  // FN_DOCKER_AUTH when set (an error if it does not parse), else the config file at
  // `config_path` when it exists and parses (fn: a missing or broken file means "no
  // credentials", and is only logged).
  static absl::StatusOr<RegistryCredentials> Load(absl::string_view docker_auth_json,
                                                  absl::string_view config_path);

  // The credentials for `registry` ("" = Docker Hub); empty if none match. An entry for
  // "a.b.c:443" also serves "b.c:443" (fn's parent-domain rule).
  RegistryAuthConfig Find(absl::string_view registry) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::vector<std::string> hosts;  // the server's host and its parent domains
    RegistryAuthConfig auth;
  };
  std::vector<Entry> entries_;
};

}  // namespace fnrunner
