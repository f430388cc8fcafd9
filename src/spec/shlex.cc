#include "spec/shlex.h"

namespace kiln::spec {
namespace {

bool IsShlexSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

ShlexResult ShlexSplit(std::string_view line) {
  ShlexResult result;
  std::string word;
  bool in_word = false;  // a word has started (possibly empty, e.g. "")
  size_t i = 0;
  const size_t n = line.size();
  while (i < n) {
    char c = line[i];
    if (IsShlexSpace(c)) {
      if (in_word) {
        result.words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      ++i;
      continue;
    }
    if (c == '#') {
      break;  // the rest of the line is a comment
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 >= n) {
        result.error = "No escaped character";
        return result;
      }
      word += line[i + 1];
      i += 2;
      continue;
    }
    if (c == '\'') {
      size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) {
        result.error = "No closing quotation";
        return result;
      }
      word.append(line.substr(i + 1, close - i - 1));
      i = close + 1;
      continue;
    }
    if (c == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        char q = line[i];
        if (q == '"') {
          closed = true;
          ++i;
          break;
        }
        if (q == '\\') {
          if (i + 1 >= n) {
            result.error = "No escaped character";
            return result;
          }
          char next = line[i + 1];
          // Inside double quotes only the quote and the backslash itself can be escaped.
          if (next != '"' && next != '\\') word += '\\';
          word += next;
          i += 2;
          continue;
        }
        word += q;
        ++i;
      }
      if (!closed) {
        result.error = "No closing quotation";
        return result;
      }
      continue;
    }
    word += c;
    ++i;
  }
  if (in_word) result.words.push_back(std::move(word));
  return result;
}

}  // namespace kiln::spec
