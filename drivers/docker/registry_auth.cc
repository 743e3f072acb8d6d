#include "drivers/docker/registry_auth.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"
#include "nlohmann/json.hpp"

namespace fnrunner {
namespace {

using json = nlohmann::json;

// Registry hosts an image without a registry component may be stored under.
constexpr absl::string_view kHubHosts[] = {"docker.io", "index.docker.io", "hub.docker.com",
                                           "registry-1.docker.io"};

std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// "https://a.b.c:443/v1/" -> "a.b.c:443".
std::string HostOf(absl::string_view server) {
  if (!absl::ConsumePrefix(&server, "https://")) absl::ConsumePrefix(&server, "http://");
  return std::string(server.substr(0, server.find('/')));
}

// "a.b.c:443" -> {"a.b.c:443", "b.c:443"}: parents down to two labels.
std::vector<std::string> HostAndParents(const std::string& host) {
  std::vector<std::string> labels = absl::StrSplit(host, '.');
  std::vector<std::string> out;
  if (labels.size() <= 2) return {host};
  for (size_t i = 0; i + 2 <= labels.size(); ++i) {
    out.push_back(absl::StrJoin(labels.begin() + i, labels.end(), "."));
  }
  return out;
}

}  // namespace

std::string ImageRef::FromImage() const {
  return registry.empty() ? repository : absl::StrCat(registry, "/", repository);
}

ImageRef ParseImageRef(absl::string_view image) {
  ImageRef ref;
  absl::string_view name = image;
  if (size_t at = name.find('@'); at != absl::string_view::npos) {
    ref.tag = std::string(name.substr(at + 1));
    name = name.substr(0, at);
  } else if (size_t colon = name.rfind(':');
             colon != absl::string_view::npos &&
             name.substr(colon + 1).find('/') == absl::string_view::npos) {
    ref.tag = std::string(name.substr(colon + 1));
    name = name.substr(0, colon);
  }
  if (ref.tag.empty()) ref.tag = "latest";
  const size_t slash = name.find('/');
  if (slash != absl::string_view::npos) {
    absl::string_view first = name.substr(0, slash);
    if (absl::StrContains(first, '.') || absl::StrContains(first, ':') || first == "localhost") {
      ref.registry = std::string(first);
      name = name.substr(slash + 1);
    }
  }
  ref.repository = (ref.registry.empty() && !absl::StrContains(name, '/'))
                       ? absl::StrCat("library/", name)
                       : std::string(name);
  return ref;
}

bool RegistryAuthConfig::empty() const {
  return username.empty() && password.empty() && email.empty() && server_address.empty() &&
         identity_token.empty() && registry_token.empty();
}

std::string EncodeRegistryAuth(const RegistryAuthConfig& auth) {
  if (auth.empty()) return "";
  json doc = json::object();
  auto put = [&doc](const char* key, const std::string& value) {
    if (!value.empty()) doc[key] = value;
  };
  put("username", auth.username);
  put("password", auth.password);
  put("email", auth.email);
  put("serveraddress", auth.server_address);
  put("identitytoken", auth.identity_token);
  put("registrytoken", auth.registry_token);
  std::string encoded = absl::Base64Escape(doc.dump());
  for (char& c : encoded) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return encoded;
}

absl::StatusOr<RegistryCredentials> RegistryCredentials::Parse(absl::string_view text,
                                                               absl::string_view source) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  }
  const json* auths = &doc;
  if (auto it = doc.find("auths"); it != doc.end()) {
    if (!it->is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": \"auths\" is not an object"));
    }
    auths = &*it;
  }
  RegistryCredentials credentials;
  for (const auto& [server, entry] : auths->items()) {
    if (!entry.is_object()) continue;  // e.g. "credsStore" in a flat legacy file
    Entry e;
    e.hosts = HostAndParents(HostOf(server));
    e.auth.server_address = server;
    e.auth.email = StringField(entry, "email");
    e.auth.identity_token = StringField(entry, "identitytoken");
    e.auth.registry_token = StringField(entry, "registrytoken");
    e.auth.username = StringField(entry, "username");
    e.auth.password = StringField(entry, "password");
    if (std::string auth = StringField(entry, "auth"); !auth.empty()) {
      std::string decoded;
      if (!absl::Base64Unescape(auth, &decoded) || !absl::StrContains(decoded, ':')) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": \"auth\" of ", server, " is not base64 user:password"));
      }
      std::pair<std::string, std::string> user_pass =
          absl::StrSplit(decoded, absl::MaxSplits(':', 1));
      e.auth.username = user_pass.first;
      e.auth.password = user_pass.second;
    }
    // An identity token replaces the password (Docker's own rule).
    if (!e.auth.identity_token.empty()) e.auth.password.clear();
    credentials.entries_.push_back(std::move(e));
  }
  return credentials;
}

absl::StatusOr<RegistryCredentials> RegistryCredentials::Load(absl::string_view docker_auth_json,
                                                              absl::string_view config_path) {
  if (!docker_auth_json.empty()) return Parse(docker_auth_json, "FN_DOCKER_AUTH");
  if (config_path.empty()) return RegistryCredentials();
  std::ifstream file{std::string(config_path)};
  if (!file) return RegistryCredentials();
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<RegistryCredentials> parsed = Parse(text.str(), config_path);
  if (!parsed.ok()) {
    LOG(WARNING) << "ignoring docker config: " << parsed.status();
    return RegistryCredentials();
  }
  return parsed;
}

RegistryAuthConfig RegistryCredentials::Find(absl::string_view registry) const {
  std::vector<absl::string_view> wanted;
  if (registry.empty()) {
    wanted.assign(std::begin(kHubHosts), std::end(kHubHosts));
  } else {
    wanted.push_back(registry);
  }
  for (absl::string_view host : wanted) {
    for (const Entry& entry : entries_) {
      for (const std::string& candidate : entry.hosts) {
        if (candidate == host) return entry.auth;
      }
    }
  }
  return RegistryAuthConfig();
}

}  // namespace fnrunner
