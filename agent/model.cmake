# The hot-slot agent's pure-logic core: the call model and admission checks, slot keys,
# machine capacity and the resource tracker. No I/O beyond reading /proc and /sys.
fn_cc_library(fn_agent_model
  SRCS
    ${CMAKE_CURRENT_LIST_DIR}/call.cc
    ${CMAKE_CURRENT_LIST_DIR}/capacity.cc
    ${CMAKE_CURRENT_LIST_DIR}/resource_tracker.cc
    ${CMAKE_CURRENT_LIST_DIR}/slot_key.cc
  DEPS fn_base absl::status absl::statusor absl::strings absl::str_format absl::cord
       absl::function_ref absl::synchronization absl::time absl::flat_hash_map
       nlohmann_json::nlohmann_json)
target_link_libraries(fn_agent INTERFACE fn_agent_model)

fn_cc_test(fn_agent_capacity_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/capacity_test.cc
  DEPS fn_agent_model fn_testing
  LABELS unit)

fn_cc_test(fn_agent_call_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/call_test.cc
  DEPS fn_agent_model fn_testing
  LABELS unit)

fn_cc_test(fn_agent_slot_key_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/slot_key_test.cc
  DEPS fn_agent_model fn_testing
  LABELS unit)

fn_cc_test(fn_agent_resource_tracker_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/resource_tracker_test.cc
  DEPS fn_agent_model fn_testing
  LABELS unit)

