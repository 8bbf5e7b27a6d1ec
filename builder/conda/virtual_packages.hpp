#pragma once
// The virtual packages (CEP 30) a solve for an image sees: facts about the
// target, not packages. __glibc comes from the base image's own libc (a
// musl, static or empty base has none, so glibc packages cannot install
// there), __cuda from the definition or the base image's CUDA_VERSION (as
// NVIDIA's images set it), __linux, __unix and __archspec from the target.
// CONDA_OVERRIDE_GLIBC, _CUDA, _LINUX and _ARCHSPEC in the definition's
// variables win, as they do for conda. The host never matters: the same
// definition and base give the same virtual packages on any machine.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/conda/package_record.hpp"
#include "builder/definition/target_platform.hpp"
#include "builder/image/base_image.hpp"

namespace envbuild::builder::conda {

// __linux when nothing overrides it: the kernel the image runs on is not
// known at build time; this is an old LTS kernel that current packages accept.
inline constexpr const char* kDefaultLinuxVersion = "5.10";

// The glibc version of the base image ("2.36"), read from its libc.so.6;
// nullopt when it has none.
std::optional<std::string> base_glibc_version(const BaseImage& base);

// The glibc version inside libc.so.6 bytes or named by a libc-X.Y.so file.
std::optional<std::string> glibc_version_of(const std::string& libc_bytes,
                                            const std::string& file_name);

std::vector<PackageRecord> virtual_packages(const TargetPlatform& platform, const BaseImage& base,
                                            const std::map<std::string, std::string>& variables);

}  // namespace envbuild::builder::conda
