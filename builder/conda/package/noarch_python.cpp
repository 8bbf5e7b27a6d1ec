#include "builder/conda/package/noarch_python.hpp"

#include <cctype>

#include "builder/conda/package/package_path.hpp"
#include "builder/conda/package/prefix_replace.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace {

bool is_major_minor(std::string_view v) {
  size_t dot = v.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size()) return false;
  for (size_t i = 0; i < v.size(); ++i)
    if (i != dot && !std::isdigit(static_cast<unsigned char>(v[i]))) return false;
  return true;
}

}  // namespace

std::string site_packages_dir(std::string_view python_version, std::string_view override_path) {
  if (!is_major_minor(python_version))
    throw Error(ErrorKind::BadInput,
                "python version for noarch: python packages must be "
                "MAJOR.MINOR, got \"" +
                    std::string(python_version) + "\"");
  if (!override_path.empty())
    return checked_package_path(override_path, "python_site_packages_path");
  return "lib/python" + std::string(python_version) + "/site-packages";
}

std::string noarch_python_target(std::string_view path, std::string_view site_packages) {
  if (path_is_within(path, "site-packages"))
    return std::string(site_packages) +
           std::string(path.substr(std::string_view("site-packages").size()));
  if (path_is_within(path, "python-scripts"))
    return "bin" + std::string(path.substr(std::string_view("python-scripts").size()));
  return std::string(path);
}

std::string entry_point_shebang(std::string_view python_path) {
  std::string shebang = "#!" + std::string(python_path) + "\n";
  if (shebang.size() > kMaxShebangLength || shebang.find(' ') != std::string::npos) {
    // Valid shell and valid Python at once: the shell execs the interpreter
    // on this file; Python reads the second and third lines as a string.
    return "#!/bin/sh\n'''exec' \"" + std::string(python_path) + "\" \"$0\" \"$@\"\n' '''\n";
  }
  return shebang;
}

std::string entry_point_script(const EntryPoint& ep, std::string_view python_path) {
  std::string import_name = ep.function.substr(0, ep.function.find('.'));
  return entry_point_shebang(python_path) +
         "# -*- coding: utf-8 -*-\n"
         "import re\n"
         "import sys\n"
         "\n"
         "from " +
         ep.module + " import " + import_name +
         "\n"
         "\n"
         "if __name__ == '__main__':\n"
         "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
         "    sys.exit(" +
         ep.function + "())\n";
}

}  // namespace envbuild::builder::conda
