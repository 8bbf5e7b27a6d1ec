#pragma once
// Media types of the OCI image spec and of Docker's schema 2, which
// registries still serve for most public images.
#include <string_view>

namespace envbuild::registry::media {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";

inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

inline bool is_index(std::string_view mt) { return mt == kOciIndex || mt == kDockerManifestList; }
inline bool is_image_manifest(std::string_view mt) { return mt == kOciManifest || mt == kDockerManifest; }
inline bool is_manifest(std::string_view mt) { return is_index(mt) || is_image_manifest(mt); }

// The Accept header value for manifest requests: everything we can read.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

}  // namespace envbuild::registry::media
