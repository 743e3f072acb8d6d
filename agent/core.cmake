# The agent's core: call lifecycle, hot containers, scheduling.
fn_cc_library(fn_agent_core
  SRCS
    ${CMAKE_CURRENT_LIST_DIR}/task_runner.cc
    ${CMAKE_CURRENT_LIST_DIR}/body_pipe.cc
    ${CMAKE_CURRENT_LIST_DIR}/call_state.cc
    ${CMAKE_CURRENT_LIST_DIR}/container_log_sink.cc
    ${CMAKE_CURRENT_LIST_DIR}/hot_agent.cc
    ${CMAKE_CURRENT_LIST_DIR}/hot_agent_tasks.cc
  DEPS fn_base fn_agent_model absl::synchronization absl::status absl::statusor
       absl::flat_hash_map absl::strings absl::str_format absl::random_random glog::glog)
target_link_libraries(fn_agent INTERFACE fn_agent_core)

# Test doubles for the agent's own unit tests.
fn_cc_library(fn_agent_core_testing
  SRCS ${CMAKE_CURRENT_LIST_DIR}/fake_function_io.cc
  DEPS fn_agent_core)

fn_cc_test(fn_agent_core_test
  SRCS
    ${CMAKE_CURRENT_LIST_DIR}/task_runner_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/body_pipe_test.cc
  DEPS fn_agent_core fn_testing absl::flat_hash_set
  LABELS unit)

fn_cc_test(fn_hot_agent_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/hot_agent_test.cc
  DEPS fn_agent_core fn_agent_core_testing fn_drivers_testing fn_testing
  LABELS unit)
