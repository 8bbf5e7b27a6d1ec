#pragma once
// Finds a currently free loopback TCP port for programs that must be told
// their port up front (docker-registry). Racy by nature: callers retry if
// the port is taken before they bind it.
namespace envbuild::testing {

int pick_free_port();

}  // namespace envbuild::testing
