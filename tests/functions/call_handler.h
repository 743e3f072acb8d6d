#pragma once

// Serving one connection of fdk-test-function: parse each request, do what its Fn-Test-*
// headers ask (README.md), answer, and loop while the connection is kept alive.

namespace fnrunner::fdktest {

// Serves HTTP/1.1 requests on the connected socket `fd` until the peer closes it, a request
// is malformed or a call asks for the connection to close. Takes ownership of `fd`. Blocks,
// possibly forever (Fn-Test-Hang), and may end the process (Fn-Test-Crash). Thread-safe: each
// connection runs on its own thread.
void ServeConnection(int fd);

}  // namespace fnrunner::fdktest
