# FakeAgent: a scripted Agent for runner tests (linked only by tests).
fn_cc_library(fn_agent_testing
  SRCS ${CMAKE_CURRENT_LIST_DIR}/fake_agent.cc
  DEPS fn_agent_model fn_base absl::synchronization absl::time)
