#include "tests/support/without_file_overrides.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace envbuild::testing {
namespace {

constexpr unsigned kBits = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);

void set_effective(bool raised) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0)
    throw std::runtime_error(std::string("capget: ") + std::strerror(errno));
  data[0].effective = raised ? (data[0].effective | kBits) : (data[0].effective & ~kBits);
  if (::syscall(SYS_capset, &header, data) != 0)
    throw std::runtime_error(std::string("capset: ") + std::strerror(errno));
}

}  // namespace

WithoutFileOverrides::WithoutFileOverrides() {
  if (::geteuid() != 0) return;
  set_effective(false);
  lowered_ = true;
}

WithoutFileOverrides::~WithoutFileOverrides() {
  if (lowered_) set_effective(true);
}

}  // namespace envbuild::testing
