# The agent's core: call lifecycle, hot containers, scheduling.
fn_cc_library(fn_agent_core
  SRCS
    ${CMAKE_CURRENT_LIST_DIR}/task_runner.cc
    ${CMAKE_CURRENT_LIST_DIR}/body_pipe.cc
  DEPS fn_base absl::synchronization absl::status absl::statusor absl::flat_hash_map
       absl::strings glog::glog)
target_link_libraries(fn_agent INTERFACE fn_agent_core)

fn_cc_test(fn_agent_core_test
  SRCS
    ${CMAKE_CURRENT_LIST_DIR}/task_runner_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/body_pipe_test.cc
  DEPS fn_agent_core fn_testing absl::flat_hash_set
  LABELS unit)
