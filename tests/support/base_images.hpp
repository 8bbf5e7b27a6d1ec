#pragma once
// Real base images for integration tests, as OCI image layouts built by the
// project's own layer writer and LayoutStore, once, and cached on disk:
//
//   busybox:1          Debian's busybox-static /bin/busybox with a few applet
//                      symlinks; tiny (~1 MB), built in well under a second.
//   debian:12-minbase  a Debian 12 rootfs from `mmdebstrap --variant=minbase`
//                      (one run per cache lifetime: its tarball is cached).
//   multi:1            an OCI image index: linux/amd64 (exactly busybox:1) and
//                      linux/arm64 (same layer, BASE_MARK=arm64 in its config;
//                      its binary is still amd64, so it is for platform
//                      selection, not for running).
//
// Every image: one gzip layer (umoci on Debian 12 cannot read zstd), uid/gid
// 0, mtimes at the epoch, exact permission bits (sticky /tmp, setuid
// programs); config Env [kBaseImagePath, "BASE_MARK=<name>"], WorkingDir
// "/", no User, created 1970-01-01T00:00:00Z. busybox:1 and multi:1 have the
// same digests wherever busybox-static is the same; the Debian image differs
// with each mmdebstrap run (logs, dates), one more reason its tarball is
// cached.
//
// The cache lives in ${ENVBUILD_BINARY_DIR}/test-cache/base-images/ and is
// safe for several processes at once: each image is checked and built under
// an exclusive flock on "<name>.lock", built in a ".building-<name>-*"
// directory and renamed into place, and reused only when its "complete"
// marker (written last) matches the recipe and every blob the tag reaches is
// present. Delete the directory to start over (the Debian image then hits the
// mirror again).
//
// The returned layouts are shared by every test: read them (skopeo, umoci,
// envbuild --base), never write into them; copy an image out first
// (push_layout_image, registry::copy_image) to change it. Their paths must
// have no ':' for the oci:DIR:TAG syntax. Failures throw
// envbuild::Error(Internal) with the failing tool's stderr, which fails the
// calling test.
#include <filesystem>
#include <string>

namespace envbuild::testing {

class RegistryFixture;

inline constexpr char kBusyboxTag[] = "busybox:1";
inline constexpr char kDebianTag[] = "debian:12-minbase";
inline constexpr char kMultiPlatformTag[] = "multi:1";
inline constexpr char kBaseImagePath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ${ENVBUILD_BINARY_DIR}/test-cache/base-images
std::filesystem::path base_image_cache_dir();

// Each returns the layout directory holding its tag (pass it to skopeo as
// `oci:DIR:TAG`, to umoci as `--image DIR:TAG`). The overloads taking
// `cache_dir` use that directory instead of the shared cache (for tests of
// the cache itself).
//
// busybox:1 holds bin/busybox, bin/{sh,ls,cat,echo,env,test,true} ->
// busybox, etc/passwd and etc/group (root), root/ (0700), tmp/ (1777);
// Cmd ["sh"].
std::filesystem::path busybox_image_layout();
std::filesystem::path busybox_image_layout(const std::filesystem::path& cache_dir);

// debian:12-minbase: the mmdebstrap tree minus the contents of /dev (device
// nodes cannot go into a layer; runtimes mount /dev anyway), so /dev is an
// empty directory; Cmd ["bash"]. Needs mmdebstrap (run as root) and
// http://deb.debian.org when its rootfs tarball is not cached yet, and fails
// with a clear message when mmdebstrap is missing.
std::filesystem::path debian_image_layout();
std::filesystem::path debian_image_layout(const std::filesystem::path& cache_dir);

// multi:1: an OCI index whose children carry platform objects.
std::filesystem::path multi_platform_index_layout();
std::filesystem::path multi_platform_index_layout(const std::filesystem::path& cache_dir);

// Copies the image or index tagged `tag` in `layout`, with all children and
// blobs, to `repository` on the test registry (with its credentials when it
// has auth). The registry tag is the part of `tag` after its last ':'
// ("busybox:1" -> "1"), or `tag` itself when it has none. Returns
// "HOST/REPOSITORY:REGISTRY_TAG".
std::string push_layout_image(const std::filesystem::path& layout, const std::string& tag,
                              const RegistryFixture& registry, const std::string& repository);

}  // namespace envbuild::testing
