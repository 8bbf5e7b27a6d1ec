#include "builder/definition/load_definition.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "builder/definition/aml_environment_file.hpp"
#include "builder/definition/build_context_hash.hpp"
#include "builder/definition/conda_environment_file.hpp"
#include "builder/definition/requirements_file.hpp"
#include "registry/error.hpp"

namespace envbuild::builder {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

EnvironmentDefinition dockerfile_definition(const fs::path& file, const TargetPlatform& platform) {
  EnvironmentDefinition def;
  def.source = file.string();
  def.format = "dockerfile";
  def.platform = platform.oci();
  def.name = file.parent_path().filename().string();
  BuildContext ctx;
  ctx.path = fs::canonical(file.parent_path()).string();
  ctx.dockerfile_path = file.filename().string();
  ctx.content_hash = hash_build_context(ctx.path);
  def.build = std::move(ctx);
  return def;
}

EnvironmentDefinition yaml_definition(const fs::path& file, const TargetPlatform& platform) {
  const YamlFile raw = YamlFile::read(file.string());
  if (looks_like_aml_environment(raw.root()))
    return read_aml_environment(raw, file.parent_path().string(), platform);
  return read_conda_environment_file(file.string(), platform);
}

void refuse_reserved_name(const EnvironmentDefinition& def) {
  if (is_reserved_curated_name(def.name)) {
    throw Error(ErrorKind::BadInput, def.source + ": the name '" + def.name +
                                         "' is reserved for curated environments; rename it "
                                         "(names starting with 'curated' belong to envbuild)");
  }
}

}  // namespace

EnvironmentDefinition load_curated(const CuratedEnvironment& env, const TargetPlatform& platform) {
  const YamlFile f(env.reference(), std::string(env.text));
  EnvironmentDefinition def = read_aml_environment(f, ".", platform);
  def.source = env.reference();
  def.format = "curated";
  return def;
}

EnvironmentDefinition load_definition(const std::string& what, const LoadOptions& options) {
  if (what.rfind("curated:", 0) == 0) {
    return load_curated(options.catalog->find(what), options.platform);
  }
  std::error_code ec;
  const fs::path file(what);
  if (!fs::exists(file, ec)) throw Error(ErrorKind::BadInput, what + ": no such definition file");
  if (fs::is_directory(file, ec)) {
    throw Error(ErrorKind::BadInput, what +
                                         " is a folder; name the definition file (environment.yml, "
                                         "requirements.txt, Dockerfile) or a curated:NAME");
  }
  const std::string name = file.filename().string();
  EnvironmentDefinition def;
  if (ends_with(name, ".txt")) {
    def = read_requirements_file(what);
    def.platform = options.platform.oci();
    def.name = file.stem().string();
  } else if (name == "Dockerfile" || ends_with(name, ".Dockerfile") ||
             name.rfind("Dockerfile.", 0) == 0) {
    def = dockerfile_definition(file, options.platform);
  } else if (ends_with(name, ".yml") || ends_with(name, ".yaml")) {
    def = yaml_definition(file, options.platform);
  } else {
    throw Error(ErrorKind::BadInput,
                what +
                    ": unknown definition format (expected .yml/.yaml, .txt, a Dockerfile or "
                    "curated:NAME)");
  }
  refuse_reserved_name(def);
  return def;
}

}  // namespace envbuild::builder
