#pragma once

// Propagation macros for absl::Status / absl::StatusOr. Our Abseil (20220623) predates
// ABSL_RETURN_IF_ERROR, so we define the two we use. These are the only macros in the tree.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fnrunner::status_internal {

inline const absl::Status& AsStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace fnrunner::status_internal

#define FN_STATUS_CONCAT_INNER_(a, b) a##b
#define FN_STATUS_CONCAT_(a, b) FN_STATUS_CONCAT_INNER_(a, b)

// Returns the status of `expr` (a Status or StatusOr) from the enclosing function if not OK.
#define RETURN_IF_ERROR(expr)                                                        \
  do {                                                                               \
    if (const auto& fn_status_ = (expr); !fn_status_.ok()) {                         \
      return ::fnrunner::status_internal::AsStatus(fn_status_);                      \
    }                                                                                \
  } while (false)

// Evaluates `rexpr` (a StatusOr<T>); on error returns its status, else moves the value into
// `lhs`, which may be a declaration: ASSIGN_OR_RETURN(ContainerId id, driver.Create(spec));
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  FN_ASSIGN_OR_RETURN_IMPL_(FN_STATUS_CONCAT_(fn_status_or_, __LINE__), lhs, rexpr)

#define FN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                              \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()
