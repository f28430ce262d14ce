// The name-list reader of `lab gen phonebook --first-names FILE --last-names FILE`: any bytes in
// either file (a bundle of the two, fuzz/bundle.h).
#include "core/error.h"
#include "fuzz/bundle.h"
#include "generators/name_space.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> names = {"first.txt", "last.txt"};
  const std::filesystem::path& dir = lab::fuzz::scratch_dir();
  lab::fuzz::write_files(dir, lab::fuzz::unpack(data, size, names));
  try {
    lab::NameSpace space = lab::NameSpace::from_files(dir / "first.txt", dir / "last.txt");
    std::string name;
    if (space.size() > 0) {
      space.name(0, name);
      space.name(space.size() - 1, name);
    }
  } catch (const lab::Error&) {
  }
  return 0;
}
