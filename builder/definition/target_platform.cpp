#include "builder/definition/target_platform.hpp"

#include "registry/error.hpp"

namespace envbuild::builder {

TargetPlatform TargetPlatform::parse(std::string_view text) {
  TargetPlatform p;
  std::string_view rest = text;
  auto next = [&]() {
    size_t slash = rest.find('/');
    std::string part(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    return part;
  };
  p.os = next();
  p.architecture = next();
  p.variant = next();
  const bool known_arch = p.architecture == "amd64" || p.architecture == "arm64" ||
                          p.architecture == "ppc64le" || p.architecture == "s390x";
  if (p.os != "linux" || !known_arch || !rest.empty() ||
      (!p.variant.empty() && p.architecture != "arm64")) {
    throw Error(ErrorKind::BadInput,
                "platform '" + std::string(text.substr(0, 100)) +
                    "': expected linux/amd64, linux/arm64[/v8], linux/ppc64le or linux/s390x");
  }
  return p;
}

std::string TargetPlatform::oci() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

std::string TargetPlatform::conda_subdir() const {
  if (architecture == "amd64") return "linux-64";
  if (architecture == "arm64") return "linux-aarch64";
  return "linux-" + architecture;
}

std::set<std::string> TargetPlatform::selector_names() const {
  std::set<std::string> names = {"linux", "unix"};
  if (architecture == "amd64") names.insert({"linux64", "x86", "x86_64"});
  if (architecture == "arm64") names.insert("aarch64");
  if (architecture == "ppc64le") names.insert("ppc64le");
  if (architecture == "s390x") names.insert("s390x");
  return names;
}

}  // namespace envbuild::builder
