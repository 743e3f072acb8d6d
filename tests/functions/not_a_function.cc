// not-a-function: an image entrypoint that is not an fn function. It never reads FN_LISTENER
// or creates a socket; it prints one line and exits 0 at once, so tests can check how the
// agent treats a container that ends before its socket appears (spec §4.7).

#include <cstdio>

int main() {
  std::puts("not-a-function: this image is not an fn function; exiting");
  return 0;
}
