#pragma once
// conda's preprocessing selectors in environment.yml (CEP 24): comment
// selectors ("- pywin32  # [win]") filter lines before the YAML is parsed;
// dictionary selectors ("- sel(linux): gcc") pick list entries after.
// Expressions combine names with and/or/not and parentheses; an unknown
// name is an error, not false, so a typo cannot silently drop a package.
#include <set>
#include <string>
#include <string_view>

namespace envbuild::builder {

// Evaluates a selector expression against the names that are true.
// Throws Error(BadInput) "selector '[...]': ..." for bad syntax or unknown
// names. `known` are the names that may appear (true or false).
bool evaluate_selector(std::string_view expression, const std::set<std::string>& truths);

// Every name a selector may use (conda-build's list, minus py/np/
// build_platform, which CEP 24 excludes).
const std::set<std::string>& known_selector_names();

// Applies comment selectors line by line: a line whose selector is false
// becomes empty (line numbers stay right for later errors), a true one
// loses its comment. `display` names the file in errors ("FILE:LINE:
// selector ...").
std::string apply_comment_selectors(const std::string& text, const std::string& display,
                                    const std::set<std::string>& truths);

}  // namespace envbuild::builder
