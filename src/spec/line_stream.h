// The lines of a kickstart with %include'd and %ksappend'ed files spliced in where they
// are named, each with the file and line it came from. This is the reading half of
// pykickstart's KickstartParser: the parser pulls lines and says when to include.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostics.h"
#include "spec/kickstart_loader.h"

namespace kiln::spec {

struct Line {
  std::string text;  // without the line ending
  SourceLocation where;
};

// The lines of a text like Python's str.splitlines() (endings dropped), one at a time: a
// kickstart of short lines would take more memory as a list of them than as text.
class LineSplitter {
 public:
  explicit LineSplitter(std::string_view text) : text_(text) {}
  // The next line into `line`; false after the last.
  bool Next(std::string_view& line);

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

class LineStream {
 public:
  // Reports problems (unreadable files, include cycles) to `diags`; lists every file read in
  // `files`. Both must outlive the stream.
  LineStream(Resolver& resolver, bool follow_includes, int max_include_depth, Diagnostics& diags,
             std::vector<std::string>& files)
      : resolver_(resolver),
        follow_includes_(follow_includes),
        max_include_depth_(max_include_depth),
        diags_(diags),
        files_(files) {}

  // Opens the top-level file `ref`, or uses `text` (named `ref`) when given, taking its
  // contents (the caller's string is left empty: a large kickstart is held once). False if
  // the file cannot be read (reported).
  bool Start(std::string_view ref, std::string* text);

  // The next line, or false at the end of the top-level file. %ksappend lines of the
  // top-level file are replaced by the named file's lines here, in any state, as pykickstart's
  // preprocessing does.
  bool Next(Line& out);

  // Splices in the file `ref` named by an %include at `where`: relative to the including
  // file; a missing file, a cycle or too deep nesting is reported and skipped.
  void Include(std::string_view ref, const SourceLocation& where);

 private:
  struct Frame {
    LoadedText src;
    LineSplitter lines{""};  // over src.text (set once src is loaded)
    int line_number = 0;     // of the last line read
    bool top_level = false;
  };

  void Push(std::unique_ptr<Frame> frame);
  void Append(std::string_view line, const SourceLocation& where);
  std::string ChainNames() const;
  std::string Chain() const;

  Resolver& resolver_;
  bool follow_includes_;
  int max_include_depth_;
  Diagnostics& diags_;
  std::vector<std::string>& files_;
  std::vector<std::unique_ptr<Frame>> stack_;
};

}  // namespace kiln::spec
