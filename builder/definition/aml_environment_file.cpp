#include "builder/definition/aml_environment_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "builder/definition/build_context_hash.hpp"
#include "builder/definition/conda_environment_file.hpp"
#include "builder/definition/conda_selectors.hpp"
#include "registry/error.hpp"

namespace envbuild::builder {

namespace fs = std::filesystem;

namespace {

const std::set<std::string> kKeys = {"$schema",
                                     "name",
                                     "version",
                                     "description",
                                     "tags",
                                     "image",
                                     "conda_file",
                                     "build",
                                     "os_type",
                                     "inference_config",
                                     "environment_variables",
                                     "python",
                                     "docker"};
fs::path resolve(const std::string& base_dir, const std::string& path) {
  fs::path p(path);
  return p.is_absolute() ? p : fs::path(base_dir) / p;
}

void read_inference_config(const YamlFile& f, const YAML::Node& node) {
  f.expect_mapping(node, "inference_config",
                   {"liveness_route", "readiness_route", "scoring_route"});
  for (const auto& kv : node) {
    const std::string route = kv.first.Scalar();
    f.expect_mapping(kv.second, "inference_config." + route, {"path", "port"});
    if (const auto p = kv.second["path"]) f.string(p, route + ".path");
    if (const auto port = kv.second["port"]) {
      const std::string text = f.string(port, route + ".port");
      if (text.empty() || text.size() > 5 ||
          text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) < 1 ||
          std::stoi(text) > 65535)
        f.fail(port, route + ".port must be a port number (1-65535)");
    }
  }
}

void read_conda_file(const YamlFile& f, const YAML::Node& node, const std::string& base_dir,
                     const TargetPlatform& platform, EnvironmentDefinition& def) {
  if (node.IsMap()) {  // inline
    add_conda_environment(f, node, platform, def, /*take_name=*/false);
    return;
  }
  const fs::path file = resolve(base_dir, f.string(node, "conda_file"));
  std::ifstream in(file, std::ios::binary);
  if (!in) f.fail(node, "conda_file " + file.string() + " cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  const YamlFile conda(
      file.string(), apply_comment_selectors(text.str(), file.string(), platform.selector_names()));
  add_conda_environment(conda, conda.root(), platform, def, /*take_name=*/false);
}

void read_build(const YamlFile& f, const YAML::Node& node, const std::string& base_dir,
                EnvironmentDefinition& def) {
  f.expect_mapping(node, "build", {"path", "dockerfile_path"});
  const auto path = node["path"];
  if (!path) f.fail(node, "build.path is required (the build context folder)");
  BuildContext ctx;
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(resolve(base_dir, f.string(path, "build.path")), ec);
  if (ec || !fs::is_directory(dir)) f.fail(path, "build.path " + dir.string() + " is not a folder");
  ctx.path = dir.string();
  ctx.dockerfile_path = "Dockerfile";
  if (const auto d = node["dockerfile_path"])
    ctx.dockerfile_path = f.string(d, "build.dockerfile_path");
  const fs::path dockerfile = fs::path(ctx.dockerfile_path).lexically_normal();
  if (dockerfile.is_absolute() || dockerfile.empty() || *dockerfile.begin() == "..")
    f.fail(node, "build.dockerfile_path must be a path inside build.path");
  if (!fs::is_regular_file(dir / dockerfile))
    f.fail(node["dockerfile_path"] ? node["dockerfile_path"] : node,
           "no Dockerfile at " + (dir / dockerfile).string());
  ctx.content_hash = hash_build_context(dir);
  def.build = std::move(ctx);
}

}  // namespace

bool looks_like_aml_environment(const YAML::Node& root) {
  if (!root.IsMap()) return false;
  for (const auto& kv : root) {
    // Every key but name (which conda files have too) says Azure ML.
    if (kv.first.IsScalar() && kv.first.Scalar() != "name" && kKeys.count(kv.first.Scalar()))
      return true;
  }
  return false;
}

EnvironmentDefinition read_aml_environment(const YamlFile& f, const std::string& base_dir,
                                           const TargetPlatform& platform) {
  const YAML::Node& root = f.root();
  f.expect_mapping(root, "the environment definition", kKeys);
  EnvironmentDefinition def;
  def.source = f.display();
  def.format = "azureml";
  def.platform = platform.oci();
  const auto name = root["name"];
  if (!name) f.fail(root, "name is required");
  def.name = f.string(name, "name");
  if (def.name.empty()) f.fail(name, "name must not be empty");
  if (const auto v = root["version"]) def.version = f.string(v, "version");
  if (const auto d = root["description"]) def.description = f.string(d, "description");
  if (const auto t = root["tags"]) def.tags = f.string_map(t, "tags");
  if (const auto os = root["os_type"]) {
    const std::string v = f.string(os, "os_type");
    if (v != "linux") f.fail(os, "os_type '" + v + "': envbuild builds Linux images only");
  }
  if (const auto ic = root["inference_config"]) read_inference_config(f, ic);

  const auto image = root["image"];
  const auto docker = root["docker"];
  const auto build = root["build"];
  if (image) def.base_image = f.string(image, "image");
  if (docker) {
    f.expect_mapping(docker, "docker", {"base_image"});
    if (const auto b = docker["base_image"]) {
      if (image) f.fail(b, "give the base image once: image or docker.base_image, not both");
      def.base_image = f.string(b, "docker.base_image");
    }
  }
  if (def.base_image && def.base_image->empty())
    f.fail(image ? image : docker, "image must not be empty");
  if (build) {
    if (def.base_image)
      f.fail(f.key_of(root, "build"),
             "one of image or build, not both (a Dockerfile names its base)");
    read_build(f, build, base_dir, def);
  }
  if (!def.base_image && !def.build) f.fail(root, "one of image or build is required");

  if (const auto py = root["python"]) {
    f.expect_mapping(py, "python", {"user_managed_dependencies"});
    if (const auto u = py["user_managed_dependencies"])
      def.user_managed_dependencies = f.boolean(u, "python.user_managed_dependencies");
  }
  if (const auto c = root["conda_file"]) {
    if (def.build)
      f.fail(c, "conda_file needs image: a Dockerfile build installs its own packages");
    if (def.user_managed_dependencies)
      f.fail(c, "conda_file contradicts python.user_managed_dependencies: true");
    read_conda_file(f, c, base_dir, platform, def);
  }
  if (const auto e = root["environment_variables"]) {
    for (const auto& [key, value] : f.string_map(e, "environment_variables")) {
      if (!is_valid_env_name(key))
        f.fail(e, "environment_variables: '" + key + "' is not a valid environment variable name");
      def.environment_variables[key] = value;
    }
  }
  return def;
}

}  // namespace envbuild::builder
