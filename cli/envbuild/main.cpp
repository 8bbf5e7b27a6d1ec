#include <cstdio>

int main() { std::puts("envbuild " ENVBUILD_VERSION); }
