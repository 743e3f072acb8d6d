# Generates C++ for capacity.proto (package fnrunner.capacity: our RunnerCapacity service),
# exactly as proto/CMakeLists.txt does for runner.proto. Included from proto/CMakeLists.txt,
# which defines `gen` and `grpc_plugin`; recomputed here so the fragment stands on its own.
set(capacity_gen ${CMAKE_CURRENT_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${capacity_gen}/proto)
set(capacity_srcs ${capacity_gen}/proto/capacity.pb.cc ${capacity_gen}/proto/capacity.grpc.pb.cc)
set(capacity_hdrs ${capacity_gen}/proto/capacity.pb.h ${capacity_gen}/proto/capacity.grpc.pb.h)
get_target_property(capacity_grpc_plugin gRPC::grpc_cpp_plugin LOCATION)
add_custom_command(
  OUTPUT ${capacity_srcs} ${capacity_hdrs}
  COMMAND protobuf::protoc
    --proto_path=${PROJECT_SOURCE_DIR}
    --cpp_out=${capacity_gen} --grpc_out=${capacity_gen}
    --plugin=protoc-gen-grpc=${capacity_grpc_plugin}
    ${PROJECT_SOURCE_DIR}/proto/capacity.proto
  DEPENDS ${PROJECT_SOURCE_DIR}/proto/capacity.proto protobuf::protoc
  COMMENT "protoc proto/capacity.proto")

# Generated code: no -Werror. Consumers include "proto/capacity.pb.h".
add_library(fn_capacity_proto ${capacity_srcs})
target_include_directories(fn_capacity_proto PUBLIC ${capacity_gen} ${PROJECT_SOURCE_DIR})
target_link_libraries(fn_capacity_proto PUBLIC protobuf::libprotobuf gRPC::grpc++)
