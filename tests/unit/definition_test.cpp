// Environment definitions: the three file formats and curated references,
// their one-line errors (file:line:column), and the spec hash.
#include <gtest/gtest.h>

#include <filesystem>

#include "builder/curated/curated_catalog.hpp"
#include "builder/definition/canonical_definition.hpp"
#include "builder/definition/conda_selectors.hpp"
#include "builder/definition/load_definition.hpp"
#include "registry/error.hpp"
#include "tests/support/error_kind.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace envbuild;
using namespace envbuild::builder;
using envbuild::testing::kind_of;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;

namespace {

class DefinitionTest : public ::testing::Test {
 protected:
  TempDir tmp{"definition"};
  std::string file(const std::string& name, const std::string& text) {
    write_file(tmp.path() / name, text);
    return (tmp.path() / name).string();
  }
  EnvironmentDefinition load(const std::string& name, const std::string& text) {
    return load_definition(file(name, text));
  }
  // The one-line error for a definition, with the temp folder cut off.
  std::string error_of(const std::string& name, const std::string& text) {
    try {
      load(name, text);
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_EQ(e.kind(), ErrorKind::BadInput) << msg;
      const std::string dir = tmp.path().string() + "/";
      for (size_t at; (at = msg.find(dir)) != std::string::npos;) msg.erase(at, dir.size());
      return msg;
    }
    ADD_FAILURE() << name << " loaded without error:\n" << text;
    return "";
  }
  std::string hash(const EnvironmentDefinition& d) {
    return spec_hash(d, effective_base(d, kDefaultBaseImage));
  }
};

const char* kConda = R"(name: train
channels:
  - conda-forge
  - defaults
dependencies:
  - python=3.11
  - numpy >=1.26
  - pip
  - pip:
      - torch==2.3.0
      - requests[socks]>=2
variables:
  OMP_NUM_THREADS: 4
  EMPTY:
)";

}  // namespace

TEST_F(DefinitionTest, CondaEnvironmentFile) {
  const EnvironmentDefinition d = load("environment.yml", kConda);
  EXPECT_EQ(d.format, "conda");
  EXPECT_EQ(d.name, "train");
  EXPECT_EQ(d.channels, (std::vector<std::string>{"conda-forge", "defaults"}));
  EXPECT_EQ(d.conda_packages.size(), 3u);
  EXPECT_EQ(d.pip_packages.size(), 2u);
  EXPECT_EQ(d.variables.at("OMP_NUM_THREADS"), "4");
  EXPECT_EQ(d.variables.at("EMPTY"), "");
  EXPECT_FALSE(d.base_image);
  EXPECT_TRUE(d.has_packages());
}

TEST_F(DefinitionTest, SelectorsPickPlatformLines) {
  const EnvironmentDefinition d = load("env.yml", R"(dependencies:
  - python
  - pywin32  # [win]
  - gcc  # [linux and x86_64]
  - clang  # [osx or (linux and aarch64)]
  - sel(unix): make
  - sel(win): nmake
)");
  ASSERT_EQ(d.conda_packages.size(), 3u);  // python, gcc, make
  const EnvironmentDefinition arm =
      load_definition((tmp.path() / "env.yml").string(),
                      {TargetPlatform::parse("linux/arm64"), &CuratedCatalog::builtin()});
  EXPECT_EQ(arm.conda_packages.size(), 3u);  // python, clang, make
  EXPECT_NE(hash(d), hash(arm));
  EXPECT_TRUE(evaluate_selector("not win and (linux or osx)", {"linux"}));
  EXPECT_FALSE(evaluate_selector("linux and not x86_64", {"linux", "x86_64"}));
  EXPECT_THROW(evaluate_selector("linux and", {"linux"}), Error);
  EXPECT_THROW(evaluate_selector("lunix", {"linux"}), Error);
  EXPECT_THROW(evaluate_selector("(linux", {"linux"}), Error);
}

TEST_F(DefinitionTest, AzureMlDefinitionWithCondaFilePathOrInline) {
  file("conda.yml", kConda);
  const EnvironmentDefinition a = load(
      "env.yml", R"($schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json
name: my-env
version: "3"
description: training
tags: {team: ml}
image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
conda_file: conda.yml
environment_variables:
  MY_FLAG: "1"
)");
  EXPECT_EQ(a.format, "azureml");
  EXPECT_EQ(a.name, "my-env");  // the definition's name, not the conda file's
  EXPECT_EQ(a.version, "3");
  EXPECT_EQ(a.tags.at("team"), "ml");
  EXPECT_EQ(*a.base_image, "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest");
  EXPECT_EQ(a.environment_variables.at("MY_FLAG"), "1");
  EXPECT_EQ(a.conda_packages.size(), 3u);
  const EnvironmentDefinition inline_file = load("inline.yml", R"(name: my-env
image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
conda_file:
  channels: [conda-forge, defaults]
  dependencies:
    - numpy>=1.26
    - pip
    - python=3.11
    - pip: ['requests[socks]>=2', torch==2.3.0]
  variables: {OMP_NUM_THREADS: "4", EMPTY: ""}
environment_variables: {MY_FLAG: "1"}
)");
  EXPECT_EQ(hash(inline_file), hash(a));  // same identity, spelled differently
}

TEST_F(DefinitionTest, AzureMlV1NotionsAndBuildContexts) {
  const EnvironmentDefinition u = load("um.yml", R"(name: byo
docker:
  base_image: ubuntu:22.04
python:
  user_managed_dependencies: true
)");
  EXPECT_TRUE(u.user_managed_dependencies);
  EXPECT_EQ(*u.base_image, "ubuntu:22.04");
  EXPECT_EQ(effective_base(u, kDefaultBaseImage), "docker.io/library/ubuntu:22.04");
  EXPECT_FALSE(u.has_packages());

  write_file(tmp.path() / "ctx" / "Dockerfile", "FROM debian:12\nRUN true\n");
  write_file(tmp.path() / "ctx" / "app.py", "print()\n");
  const EnvironmentDefinition b = load("b.yml", "name: built\nbuild:\n  path: ctx\n");
  ASSERT_TRUE(b.build);
  EXPECT_EQ(b.build->dockerfile_path, "Dockerfile");
  const std::string before = hash(b);
  write_file(tmp.path() / "ctx" / "app.py", "print(1)\n");
  EXPECT_NE(hash(load("b.yml", "name: built\nbuild:\n  path: ctx\n")), before);
  const EnvironmentDefinition df = load_definition((tmp.path() / "ctx" / "Dockerfile").string());
  EXPECT_EQ(df.format, "dockerfile");
  ASSERT_TRUE(df.build);
}

TEST_F(DefinitionTest, RequirementsFile) {
  file("base.txt", "numpy==1.26.4\n");
  const EnvironmentDefinition r = load("requirements.txt", R"(# training deps
-r base.txt
--index-url https://user:secret@pypi.example.com/simple
--extra-index-url=https://mirror.example.com/simple
--pre
torch==2.3.0 --hash=sha256:bbbb --hash=sha256:aaaa
requests[socks] >= 2 ; python_version >= "3.8"  # inline comment
scikit-learn \
  >=1.5
)");
  EXPECT_EQ(r.format, "requirements");
  EXPECT_EQ(r.name, "requirements");
  ASSERT_EQ(r.pip_packages.size(), 4u);
  EXPECT_EQ(r.pip_options.size(), 3u);
  for (const std::string& o : r.pip_options) EXPECT_EQ(o.find("secret"), std::string::npos) << o;
  bool hashed = false;
  for (const std::string& p : r.pip_packages)
    hashed |= p.find("--hash=sha256:aaaa --hash=sha256:bbbb") != std::string::npos;
  EXPECT_TRUE(hashed);
}

TEST_F(DefinitionTest, CuratedEnvironmentsAllLoadAndNamesAreReserved) {
  const CuratedCatalog& catalog = CuratedCatalog::builtin();
  ASSERT_GE(catalog.latest().size(), 4u);
  bool gpu = false;
  for (const CuratedEnvironment& e : catalog.all()) {
    const EnvironmentDefinition d = load_definition(e.reference());
    EXPECT_EQ(d.format, "curated");
    EXPECT_EQ(d.name, e.name);
    EXPECT_FALSE(is_reserved_curated_name(e.name)) << e.name;
    EXPECT_TRUE(d.base_image.has_value()) << e.name;
    gpu |= d.base_image->find("cuda") != std::string::npos;
  }
  EXPECT_TRUE(gpu);
  EXPECT_EQ(catalog.find("curated:minimal-python").name, "minimal-python");
  EXPECT_EQ(catalog.find("sklearn-1.5:1").version, "1");
  EXPECT_EQ(kind_of([&] { catalog.find("curated:nope"); }), ErrorKind::NotFound);
  for (const char* reserved : {"curated", "Curated-x", "curated_x", "CURATED:y"})
    EXPECT_TRUE(is_reserved_curated_name(reserved)) << reserved;
  for (const char* free : {"curatedx", "my-curated", "cur"})
    EXPECT_FALSE(is_reserved_curated_name(free)) << free;
  EXPECT_EQ(error_of("env.yml", "name: curated-sklearn\ndependencies: [numpy]\n"),
            "env.yml: the name 'curated-sklearn' is reserved for curated environments; rename it "
            "(names starting with 'curated' belong to envbuild)");
}

TEST_F(DefinitionTest, SpecHashIgnoresOrderAndDescriptionButNotWhatBuilds) {
  const std::string base = hash(load("a.yml", kConda));
  auto variant = [&](const std::string& from, const std::string& to) {
    std::string text = kConda;
    text.replace(text.find(from), from.size(), to);
    return hash(load("v.yml", text));
  };
  // Order of dependencies and of pip requirements: same environment.
  EXPECT_EQ(variant("  - python=3.11\n  - numpy >=1.26\n", "  - numpy >=1.26\n  - python=3.11\n"),
            base);
  EXPECT_EQ(variant("      - torch==2.3.0\n      - requests[socks]>=2\n",
                    "      - requests[socks]>=2\n      - torch==2.3.0\n"),
            base);
  EXPECT_EQ(variant("name: train", "name: other"), base);
  EXPECT_EQ(variant("  - python=3.11\n", "  - python=3.11\n  - python=3.11\n"), base);
  // What changes the image changes the hash.
  EXPECT_NE(variant("  - conda-forge\n  - defaults\n", "  - defaults\n  - conda-forge\n"), base);
  EXPECT_NE(variant("python=3.11", "python=3.12"), base);
  EXPECT_NE(variant("torch==2.3.0", "torch==2.3.1"), base);
  EXPECT_NE(variant("OMP_NUM_THREADS: 4", "OMP_NUM_THREADS: 8"), base);
  // Listing the target among platforms builds the same environment.
  EXPECT_EQ(variant("name: train\n", "name: train\nplatforms: [linux-64]\n"), base);
  const EnvironmentDefinition d = load("a.yml", kConda);
  EXPECT_NE(spec_hash(d, normalize_base_reference("debian:12")),
            spec_hash(d, normalize_base_reference("ubuntu:22.04")));
  EXPECT_EQ(spec_hash(d, normalize_base_reference("debian:12")),
            spec_hash(d, normalize_base_reference("docker.io/library/debian:12")));
  EnvironmentDefinition described = d;
  described.description = "other";
  described.tags["k"] = "v";
  described.version = "9";
  EXPECT_EQ(hash(described), hash(d));
  EXPECT_EQ(hash(d).size(), 64u);
}

// One line, the file, the line and column, what is wrong.
TEST_F(DefinitionTest, BadInputCorpus) {
  struct Case {
    const char* name;
    const char* text;
    const char* expected;  // the message starts with this
  };
  const Case cases[] = {
      {"e.yml", "dependencies: [numpy\n", "e.yml:2:1: YAML syntax error"},
      {"e.yml", "name: x\ndependencies:\n  - numpy\nflavour: spicy\n",
       "e.yml:4:1: unknown key 'flavour' in environment.yml"},
      {"e.yml", "name: x\n", "e.yml:1:1: dependencies is required"},
      {"e.yml", "dependencies: numpy\n", "e.yml:1:15: dependencies must be a list"},
      {"e.yml", "dependencies:\n  - [numpy]\n", "e.yml:2:5: a dependency is a package spec"},
      {"e.yml", "dependencies:\n  - npm:\n      - left-pad\n",
       "e.yml:2:5: unknown dependency subsection 'npm'"},
      {"e.yml", "dependencies:\n  - pip: requests\n",
       "e.yml:2:10: the pip subsection must be a list"},
      {"e.yml", "dependencies:\n  - sel(linux and win): gcc\n", "e.yml:2:5: sel() takes one of"},
      {"e.yml", "dependencies:\n  - gcc # [lunix]\n", "e.yml:2: selector '[lunix]': unknown name"},
      {"e.yml", "name: my env\ndependencies: []\n", "e.yml:1:7: name 'my env' must not contain"},
      {"e.yml", "name: base\ndependencies: []\n", "e.yml:1:7: name 'base' is reserved by conda"},
      {"e.yml", "channels: conda-forge\ndependencies: []\n", "e.yml:1:11: channels must be a list"},
      {"e.yml", "dependencies: []\nvariables: [A]\n", "e.yml:2:12: variables must be a mapping"},
      {"e.yml", "dependencies: []\nvariables:\n  1BAD: x\n", "e.yml:3:3: variables: '1BAD'"},
      {"e.yml", "dependencies: []\nplatforms: [osx-arm64]\n",
       "e.yml:2:12: platforms does not list linux-64"},
      {"e.yml", "dependencies: []\nname: a\nname: b\n", "e.yml:3:1: 'name' appears twice"},
      {"e.yml", "", "e.yml: the environment file is empty"},
      {"e.yml", "- just\n- a list\n", "e.yml:1:1: environment.yml must be a mapping"},
      {"a.yml", "name: x\nimage: debian:12\nbuild:\n  path: .\n",
       "a.yml:3:1: one of image or build"},
      {"a.yml", "name: x\nversion: 1\n", "a.yml:1:1: one of image or build is required"},
      {"a.yml", "version: 1\nimage: debian:12\n", "a.yml:1:1: name is required"},
      {"a.yml", "name: x\nimage: debian:12\nos_type: windows\n", "a.yml:3:10: os_type 'windows'"},
      {"a.yml", "name: x\nimage: debian:12\nconda_file: missing.yml\n", "a.yml:3:13: conda_file"},
      {"a.yml", "name: x\nimage: debian:12\npython:\n  user_managed_dependencies: maybe\n",
       "a.yml:4:30: python.user_managed_dependencies must be true or false"},
      {"a.yml",
       "name: x\nimage: debian:12\npython: {user_managed_dependencies: true}\nconda_file: "
       "{dependencies: [numpy]}\n",
       "a.yml:4:13: conda_file contradicts python.user_managed_dependencies"},
      {"a.yml", "name: x\nimage: debian:12\ndocker: {base_image: ubuntu}\n",
       "a.yml:3:22: give the base image once"},
      {"a.yml", "name: x\nimage: debian:12\nenvironment_variables: {A-B: 1}\n",
       "a.yml:3:24: environment_variables: 'A-B'"},
      {"a.yml", "name: x\nimage: debian:12\ninference_config: {scoring_route: {port: 99999}}\n",
       "a.yml:3:42: scoring_route.port must be a port number"},
      {"a.yml", "name: x\nimage: debian:12\nbuild: {path: nowhere}\n",
       "a.yml:3:1: one of image or build"},
      {"b.yml", "name: x\nbuild: {path: nowhere}\n", "b.yml:2:15: build.path"},
      {"b.yml", "name: x\nbuild: {path: ., dockerfile_path: ../Dockerfile}\n",
       "b.yml:2:8: build.dockerfile_path must be a path inside build.path"},
      {"b.yml", "name: x\nimage: debian:12\ntags: [a]\n", "b.yml:3:7: tags must be a mapping"},
      {"r.txt", "-e ./src\n", "r.txt:1: editable installs (-e) are not supported"},
      {"r.txt", "numpy\n-c constraints.txt\n", "r.txt:2: constraint files (-c) are not supported"},
      {"r.txt", "--frobnicate\n", "r.txt:1: unknown or unsupported option '--frobnicate'"},
      {"r.txt", "-r missing.txt\n", "missing.txt: cannot read the requirements file"},
      {"r.txt", "-r r.txt\n", "r.txt: included from itself"},
      {"r.txt", "numpy==1 --no-deps\n",
       "r.txt:1: unsupported option '--no-deps' after a requirement"},
      {"x.json", "{}", "x.json: unknown definition format"},
      {"missing.yml", nullptr, "missing.yml: no such definition file"},
  };
  for (const Case& c : cases) {
    std::string msg;
    if (c.text == nullptr) {
      try {
        load_definition((tmp.path() / c.name).string());
      } catch (const Error& e) {
        msg = e.what();
        msg.erase(0, tmp.path().string().size() + 1);
      }
    } else {
      msg = error_of(c.name, c.text);
    }
    EXPECT_EQ(msg.substr(0, std::string(c.expected).size()), c.expected)
        << "for " << c.name << ":\n"
        << (c.text ? c.text : "") << "\ngot: " << msg;
  }
}

// Package specs the parsers refuse are refused at their position.
TEST_F(DefinitionTest, UnparsablePackageSpecsNameTheirPosition) {
  EXPECT_EQ(error_of("e.yml", "dependencies:\n  - numpy >=\n").substr(0, 10), "e.yml:2:5:");
  EXPECT_EQ(error_of("e.yml", "dependencies:\n  - pip:\n      - 'requests[socks'\n").substr(0, 11),
            "e.yml:3:9: ");
  EXPECT_EQ(error_of("r.txt", "numpy\nrequests >=\n").substr(0, 8), "r.txt:2:");
  EXPECT_EQ(
      error_of("a.yml", "name: x\nimage: debian:12\nconda_file:\n  dependencies: ['numpy[']\n")
          .substr(0, 12),
      "a.yml:4:18: ");
}
