# The agent's container I/O: the per-container iofs directory, readiness by inotify, the
# validated and pinned function socket, and HTTP/1.1 exchanges with the function over it.
fn_cc_library(fn_agent_io
  SRCS
    ${CMAKE_CURRENT_LIST_DIR}/iofs_dir.cc
    ${CMAKE_CURRENT_LIST_DIR}/socket_watcher.cc
    ${CMAKE_CURRENT_LIST_DIR}/function_socket.cc
    ${CMAKE_CURRENT_LIST_DIR}/http1.cc
    ${CMAKE_CURRENT_LIST_DIR}/function_client.cc
  DEPS fn_base fn_agent_core absl::status absl::statusor absl::strings absl::str_format
       absl::time absl::synchronization glog::glog Threads::Threads)
target_link_libraries(fn_agent INTERFACE fn_agent_io)

fn_cc_test(fn_agent_io_test
  SRCS
    ${CMAKE_CURRENT_LIST_DIR}/http1_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/iofs_dir_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/socket_watcher_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/function_socket_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/function_client_test.cc
  DEPS fn_agent_io fn_testing
  LABELS unit)
