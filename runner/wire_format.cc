#include "runner/wire_format.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"

namespace fnrunner {
namespace {

bool IsHopByHop(const HttpHeaderField& header) {
  for (absl::string_view name :
       {"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
        "Proxy-Authorization", "Trailer", "Transfer-Encoding", "Upgrade"}) {
    if (absl::EqualsIgnoreCase(header.name, name)) return true;
  }
  return absl::EqualsIgnoreCase(header.name, "Te") && header.value != "trailers";
}

int64_t Nanos(absl::Duration d) { return std::max<int64_t>(0, absl::ToInt64Nanoseconds(d)); }

}  // namespace

std::string FormatFnDate(absl::Time t) {
  if (!IsSet(t)) return "";
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::vector<HttpHeaderField> StripHopByHop(std::vector<HttpHeaderField> headers) {
  headers.erase(std::remove_if(headers.begin(), headers.end(), IsHopByHop), headers.end());
  return headers;
}

RunnerMsg ResultStartMsg(int status, const std::vector<HttpHeaderField>& headers) {
  RunnerMsg msg;
  HttpRespMeta* http = msg.mutable_result_start()->mutable_http();
  http->set_status_code(status);
  for (const HttpHeaderField& header : headers) {
    HttpHeader* h = http->add_headers();
    h->set_key(header.name);
    h->set_value(header.value);
  }
  return msg;
}

RunnerMsg DataMsg(absl::string_view data) {
  RunnerMsg msg;
  msg.mutable_data()->set_data(std::string(data));
  return msg;
}

RunnerMsg FinishedMsg(const FinishedFields& fields, absl::Time now) {
  RunnerMsg msg;
  CallFinished* f = msg.mutable_finished();
  f->set_success(!fields.error.has_value());
  f->set_details(fields.call_id);
  f->set_image(fields.image);
  if (fields.error) {
    f->set_errorcode(fields.error->code);
    f->set_errorstr(fields.error->message);
    f->set_erroruser(fields.error->user_error);
  }
  // fn's nesting: startedAt only with createdAt, completedAt only with startedAt.
  if (IsSet(fields.created_at)) {
    f->set_createdat(FormatFnDate(fields.created_at));
    if (IsSet(fields.started_at)) {
      f->set_startedat(FormatFnDate(fields.started_at));
      f->set_completedat(FormatFnDate(IsSet(fields.completed_at) ? fields.completed_at : now));
    }
  }
  if (IsSet(fields.started_at)) {
    f->set_schedulerduration(Nanos(fields.scheduler));
    f->set_executionduration(Nanos(fields.execution));
  }
  f->set_imagepullwaitduration(Nanos(fields.image_pull_wait));
  f->set_ctrprepduration(0);  // fn never fills it in CallFinished; we do not measure it.
  f->set_ctrcreateduration(Nanos(fields.container_create));
  f->set_initstarttime(Nanos(fields.init_start));
  return msg;
}

}  // namespace fnrunner
