#include "registry/store_location.hpp"

#include "registry/error.hpp"
#include "registry/layout_store.hpp"
#include "registry/reference.hpp"
#include "registry/registry_store.hpp"

namespace envbuild::registry {

namespace {

bool looks_like_host(std::string_view first_component) {
  return first_component == "localhost" || first_component.find('.') != std::string_view::npos ||
         first_component.find(':') != std::string_view::npos;
}

// Splits "NAME[:TAG][@DIGEST]" as used for layout ref names: the tag is after
// the last ':' that comes after the last '/'.
void split_name(std::string_view text, std::string& name, std::optional<std::string>& tag,
                std::optional<Digest>& digest) {
  auto at = text.find('@');
  if (at != std::string_view::npos) {
    digest = Digest::parse(text.substr(at + 1));
    text = text.substr(0, at);
  }
  auto slash = text.rfind('/');
  auto colon = text.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    tag = std::string(text.substr(colon + 1));
    text = text.substr(0, colon);
  }
  name = std::string(text);
}

StoreLocation open_registry(std::string_view text, const LocationOptions& options) {
  Reference ref = Reference::parse(text);
  RegistryOptions ro;
  ro.insecure_registries = options.insecure_registries;
  ro.docker_config_dir = options.docker_config_dir;
  ro.verbose = options.verbose;
  StoreLocation loc;
  RegistryEndpoint endpoint{ref.domain(), ref.path()};
  if (auto m = options.registry_mirrors.find(ref.domain()); m != options.registry_mirrors.end()) {
    const std::string& mirror = m->second;
    const size_t slash = mirror.find('/');
    endpoint.host = mirror.substr(0, slash);
    if (slash != std::string::npos)
      endpoint.repository = mirror.substr(slash + 1) + "/" + ref.path();
  }
  loc.store = std::make_unique<RegistryStore>(endpoint, ro);
  loc.is_registry = true;
  if (ref.digest()) {
    loc.ref = ref.digest()->str();
  } else if (ref.tag()) {
    loc.ref = *ref.tag();
  }
  loc.tag = ref.tag();
  loc.display = ref.str();
  return loc;
}

StoreLocation open_layout(const std::filesystem::path& dir, std::string_view rest,
                          std::string display) {
  StoreLocation loc;
  loc.store = std::make_unique<LayoutStore>(dir);
  if (!rest.empty()) {
    if (rest.front() == '@') {
      loc.ref = Digest::parse(rest.substr(1)).str();
    } else {
      loc.tag = std::string(rest);
      loc.ref = *loc.tag;
    }
  }
  loc.display = std::move(display);
  return loc;
}

}  // namespace

StoreLocation open_location(std::string_view text, const LocationOptions& options) {
  if (text.empty()) throw Error(ErrorKind::BadInput, "empty image location");
  if (text.starts_with("oci:")) {
    std::string_view body = text.substr(4);
    // oci:DIR[:TAG] or oci:DIR@DIGEST; DIR may not contain ':'.
    auto cut = body.find_first_of(":@");
    std::string dir(body.substr(0, cut));
    if (dir.empty())
      throw Error(ErrorKind::BadInput, "'" + std::string(text) + "': missing directory after oci:");
    std::string_view rest = cut == std::string_view::npos ? std::string_view{} : body.substr(cut);
    if (rest.starts_with(":")) rest.remove_prefix(1);
    return open_layout(dir, rest, std::string(text));
  }
  if (text.starts_with("docker://")) return open_registry(text.substr(9), options);
  bool local = false;
  if (text.starts_with("local:")) {
    text.remove_prefix(6);
    local = true;
  }
  if (!local) {
    auto slash = text.find('/');
    if (slash != std::string_view::npos && looks_like_host(text.substr(0, slash))) {
      return open_registry(text, options);
    }
  }
  // A name in the default store: the whole "name:tag" is the layout ref name,
  // so one store can hold many named images.
  std::string name;
  std::optional<std::string> tag;
  std::optional<Digest> digest;
  split_name(text, name, tag, digest);
  if (name.empty())
    throw Error(ErrorKind::BadInput, "'" + std::string(text) + "': missing image name");
  StoreLocation loc;
  loc.store = std::make_unique<LayoutStore>(options.default_store_dir);
  std::string ref_name = name + ":" + tag.value_or("latest");
  if (digest) {
    loc.ref = digest->str();
  } else {
    loc.ref = ref_name;
  }
  loc.tag = ref_name;
  loc.display = "local:" + ref_name + (digest ? "@" + digest->str() : "");
  return loc;
}

void add_registry_mirrors(std::string_view text, std::map<std::string, std::string>& mirrors) {
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view entry = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == entry.size()) {
      throw Error(ErrorKind::BadInput, "registry mirror '" + std::string(entry.substr(0, 200)) +
                                           "': expected REGISTRY=MIRROR, e.g. "
                                           "docker.io=mirror.example.com");
    }
    std::string host(entry.substr(0, eq));
    if (host == "index.docker.io" || host == "registry-1.docker.io") host = "docker.io";
    mirrors[host] = std::string(entry.substr(eq + 1));
  }
}

}  // namespace envbuild::registry
