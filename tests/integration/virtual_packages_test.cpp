// Virtual packages come from the base image: glibc from its libc.so.6 (none
// in a static busybox), CUDA from NVIDIA-style CUDA_VERSION, and overrides
// from the definition's CONDA_OVERRIDE_* variables.
#include "builder/conda/virtual_packages.hpp"

#include <gtest/gtest.h>

#include "builder/image/base_image.hpp"
#include "tests/support/base_images.hpp"

using namespace envbuild;
using namespace envbuild::builder;
using namespace envbuild::testing;

namespace {

std::map<std::string, std::string> by_name(const std::vector<conda::PackageRecord>& records) {
  std::map<std::string, std::string> out;
  for (const auto& r : records) out[r.name] = r.version + (r.build == "0" ? "" : "=" + r.build);
  return out;
}

BaseImage base_of(const std::filesystem::path& layout, const std::string& tag) {
  registry::LocationOptions locations;
  return resolve_base_image("oci:" + layout.string() + ":" + tag,
                            TargetPlatform::parse("linux/amd64"), locations);
}

}  // namespace

TEST(VirtualPackages, GlibcComesFromTheBaseImage) {
  const BaseImage debian = base_of(debian_image_layout(), kDebianTag);
  EXPECT_EQ(conda::base_glibc_version(debian), "2.36");
  const BaseImage busybox = base_of(busybox_image_layout(), kBusyboxTag);
  EXPECT_EQ(conda::base_glibc_version(busybox), std::nullopt);

  const auto plain =
      by_name(conda::virtual_packages(TargetPlatform::parse("linux/amd64"), debian, {}));
  EXPECT_EQ(plain.at("__glibc"), "2.36");
  EXPECT_EQ(plain.at("__unix"), "0");
  EXPECT_EQ(plain.at("__linux"), conda::kDefaultLinuxVersion);
  EXPECT_EQ(plain.at("__archspec"), "1=x86_64");
  EXPECT_FALSE(plain.count("__cuda"));
  EXPECT_FALSE(by_name(conda::virtual_packages(TargetPlatform::parse("linux/amd64"), busybox, {}))
                   .count("__glibc"));

  const auto overridden =
      by_name(conda::virtual_packages(TargetPlatform::parse("linux/amd64"), busybox,
                                      {{"CONDA_OVERRIDE_GLIBC", "2.28"},
                                       {"CONDA_OVERRIDE_CUDA", "12.2"},
                                       {"CONDA_OVERRIDE_LINUX", "6.1"}}));
  EXPECT_EQ(overridden.at("__glibc"), "2.28");
  EXPECT_EQ(overridden.at("__cuda"), "12.2");
  EXPECT_EQ(overridden.at("__linux"), "6.1");
  // An empty override removes the package, as in conda.
  EXPECT_FALSE(by_name(conda::virtual_packages(TargetPlatform::parse("linux/amd64"), debian,
                                               {{"CONDA_OVERRIDE_GLIBC", ""}}))
                   .count("__glibc"));
}

TEST(VirtualPackages, CudaFromTheBaseImageConfig) {
  BaseImage base = base_of(busybox_image_layout(), kBusyboxTag);
  base.config.set_env("CUDA_VERSION=12.1.1");
  EXPECT_EQ(
      by_name(conda::virtual_packages(TargetPlatform::parse("linux/amd64"), base, {})).at("__cuda"),
      "12.1");
  const auto arm = by_name(conda::virtual_packages(TargetPlatform::parse("linux/arm64"), base, {}));
  EXPECT_EQ(arm.at("__archspec"), "1=aarch64");
}

TEST(VirtualPackages, GlibcVersionFromBannerOrFileName) {
  std::string banner = "ELF junk";
  banner += '\0';
  banner += "GNU C Library (Ubuntu GLIBC 2.35-0ubuntu3) stable release version 2.35.";
  EXPECT_EQ(conda::glibc_version_of(banner, "libc.so.6"), "2.35");
  EXPECT_EQ(conda::glibc_version_of("", "libc-2.31.so"), "2.31");
  EXPECT_EQ(conda::glibc_version_of("no banner here", "libc.so.6"), std::nullopt);
}
