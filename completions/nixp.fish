# fish completion for nixp (and for nix when nix is nixp).
#
#   source completions/nixp.fish          # or copy to ~/.config/fish/completions/
#   complete -c nix --wraps nixp          # also for `nix` (an `alias nix=nixp` does this)
#
# It asks nixp itself, through nix's protocol (NIX_GET_COMPLETIONS).

function __nixp_complete
    # The words before the cursor, without the command name, and the word
    # being completed (possibly empty).
    set -l words (commandline --current-process --tokenize --cut-at-cursor)
    set -l current (commandline --current-token --cut-at-cursor)
    set -e words[1]
    env NIX_GET_COMPLETIONS=(math (count $words) + 1) nixp $words $current 2>/dev/null
end

function __nixp_wants_files
    set -l answer (__nixp_complete)
    test "$answer[1]" = filenames
end

complete -c nixp --condition 'not __nixp_wants_files' --no-files
complete -c nixp --arguments '(__nixp_complete)[2..-1]'
