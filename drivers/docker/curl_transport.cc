#include "drivers/docker/curl_transport.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fnrunner {
namespace {

// libcurl's global state must be initialised once before any handle exists, and with
// 7.84+ the call is thread-safe; a function-local static gives us exactly-once.
CURLcode GlobalInit() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  return code;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// Per-request state the write callback fills.
struct BodyState {
  const EngineRequest* request = nullptr;
  std::string body;
  size_t max_body_bytes = 0;
  bool too_large = false;
  bool cancelled = false;
};

size_t OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<BodyState*>(user);
  const size_t n = size * count;
  if (state->request->on_body) {
    if (!state->request->on_body(absl::string_view(data, n))) {
      state->cancelled = true;
      return 0;  // Any short count makes curl abort with CURLE_WRITE_ERROR.
    }
    return n;
  }
  if (state->body.size() + n > state->max_body_bytes) {
    state->too_large = true;
    return 0;
  }
  state->body.append(data, n);
  return n;
}

struct FileCloser {
  void operator()(FILE* file) const { fclose(file); }
};

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  // fread's short count at end of file is what curl expects; a read error aborts the upload.
  FILE* file = static_cast<FILE*>(user);
  const size_t n = fread(buffer, 1, size * count, file);
  if (n == 0 && ferror(file)) return CURL_READFUNC_ABORT;
  return n;
}

long ToMillis(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return 0;  // curl: 0 means no timeout
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

}  // namespace

void CurlTransport::CurlDeleter::operator()(CURL* handle) const { curl_easy_cleanup(handle); }

absl::StatusOr<std::unique_ptr<CurlTransport>> CurlTransport::Create(Options options) {
  if (CURLcode code = GlobalInit(); code != CURLE_OK) {
    return absl::InternalError(absl::StrCat("curl_global_init: ", curl_easy_strerror(code)));
  }
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(options)));
}

CurlTransport::~CurlTransport() = default;

CurlTransport::Handle CurlTransport::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      Handle handle = std::move(idle_.back());
      idle_.pop_back();
      // Reset drops the previous request's options but keeps its live connection.
      curl_easy_reset(handle.get());
      return handle;
    }
  }
  return Handle(curl_easy_init());
}

void CurlTransport::Release(Handle handle) {
  absl::MutexLock lock(&mu_);
  if (idle_.size() < options_.max_idle_handles) idle_.push_back(std::move(handle));
}

absl::StatusOr<EngineResponse> CurlTransport::Send(const EngineRequest& request) {
  Handle handle = Acquire();
  if (handle == nullptr) return absl::InternalError("curl_easy_init failed");
  CURL* curl = handle.get();

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  // Engine requests are small; "Expect: 100-continue" would only add a round trip.
  add_header("Expect:");
  for (const std::string& h : request.headers) add_header(h);

  BodyState state;
  state.request = &request;
  state.max_body_bytes = options_.max_body_bytes;
  const std::string url = absl::StrCat("http://docker", request.path);

  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, options_.socket_path.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  // Signals are process-wide; with NOSIGNAL curl never uses SIGALRM for timeouts, which is
  // required in a multi-threaded process.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ToMillis(options_.connect_timeout));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ToMillis(request.timeout));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  std::unique_ptr<FILE, FileCloser> body_file;
  if (!request.body_file.empty()) {
    body_file.reset(fopen(request.body_file.c_str(), "rb"));
    struct stat info;
    if (body_file == nullptr || fstat(fileno(body_file.get()), &info) != 0) {
      return absl::NotFoundError(
          absl::StrCat("cannot read ", request.body_file, ": ", std::strerror(errno)));
    }
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, body_file.get());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(info.st_size));
  } else if (request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    if (request.method == "PUT") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    // The handle is dropped, not pooled: its connection may be half-dead.
    const std::string what =
        absl::StrCat(request.method, " ", request.path, ": ", curl_easy_strerror(code));
    if (state.cancelled) return absl::CancelledError(what);
    if (state.too_large) {
      return absl::ResourceExhaustedError(
          absl::StrCat(what, " (reply over ", options_.max_body_bytes, " bytes)"));
    }
    if (code == CURLE_OPERATION_TIMEDOUT) return absl::DeadlineExceededError(what);
    return absl::UnavailableError(what);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  Release(std::move(handle));
  return EngineResponse{static_cast<int>(status), std::move(state.body)};
}

}  // namespace fnrunner
