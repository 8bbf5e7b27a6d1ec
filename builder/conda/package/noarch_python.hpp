#pragma once
// `noarch: python` packages (CEP 17, CEP 20) ship `site-packages/` and
// `python-scripts/` folders that only get their place once the
// environment's python is known, and entry points that become small
// scripts in bin/. The script text is conda's own
// (conda/gateways/disk/create.py), so an environment we build looks like
// one conda built. Bytecode (.pyc) is not compiled: that needs the
// environment's interpreter to run.
#include <string>
#include <string_view>

#include "builder/conda/package/package_metadata.hpp"

namespace envbuild::builder::conda {

// "lib/python3.11/site-packages", or `override_path` (the python record's
// python_site_packages_path, CEP 20) when it is set. Throws Error(BadInput)
// when `python_version` is not "MAJOR.MINOR".
std::string site_packages_dir(std::string_view python_version, std::string_view override_path);

// Where a package path lands: "site-packages/x" -> "<site_packages>/x",
// "python-scripts/x" -> "bin/x", anything else unchanged.
std::string noarch_python_target(std::string_view path, std::string_view site_packages);

// conda's generate_shebang_for_entry_point: "#!<python>\n", or a /bin/sh
// trampoline when that line would be too long for the kernel or holds a
// space.
std::string entry_point_shebang(std::string_view python_path);

// The whole bin/<name> script: shebang and conda's template.
std::string entry_point_script(const EntryPoint& entry_point, std::string_view python_path);

}  // namespace envbuild::builder::conda
