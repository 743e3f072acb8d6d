# The RunnerCapacity service (proto/capacity.proto): capacity snapshots pushed to capacity-aware
# load balancers. Included from runner/CMakeLists.txt; main.cc registers it on the runner's
# gRPC server next to RunnerProtocol.
fn_cc_library(fn_runner_capacity
  SRCS ${CMAKE_CURRENT_LIST_DIR}/capacity_service.cc
  DEPS fn_capacity_proto fn_agent fn_base gRPC::grpc++ protobuf::libprotobuf
       absl::flat_hash_set absl::random_random absl::str_format absl::synchronization
       absl::time)

fn_cc_test(fn_runner_capacity_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/capacity_service_test.cc
  DEPS fn_runner_capacity fn_agent_testing fn_base_testing fn_testing
  LABELS unit)
