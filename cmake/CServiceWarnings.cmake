# cservice_target_defaults(<target>): warnings (errors with CSERVICE_WERROR) and sanitizers.
# Flags go on targets, never in CMAKE_CXX_FLAGS.
function(cservice_target_defaults target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor -Wold-style-cast
    -Woverloaded-virtual -Wimplicit-fallthrough -Wformat=2)
  if(CSERVICE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(CSERVICE_SANITIZE)
    # -O1, as the sanitizers' own docs advise: fast enough to run, and the Beast and coroutine
    # files compile in about 60% of the time they take at -O2.
    target_compile_options(${target} PRIVATE
      -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      # Clang 14's -fsanitize=function (part of undefined) fails on our coroutines (Asio's
      # awaitables): "error: Cannot represent a difference across sections", LLVM issue 49689.
      target_compile_options(${target} PRIVATE -fno-sanitize=function)
    endif()
  endif()
  if(CSERVICE_FUZZ)
    # libFuzzer's coverage instrumentation in every library a harness links; the harnesses
    # themselves add -fsanitize=fuzzer (fuzz/CMakeLists.txt), which brings libFuzzer's main.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()
