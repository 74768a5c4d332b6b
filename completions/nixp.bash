# bash completion for nixp (and for nix when nix is nixp).
#
#   source completions/nixp.bash          # or: source <(nixp completions bash)
#   complete -F _nixp_complete nix        # also for `nix`, with alias nix=nixp
#
# It asks nixp itself, through nix's protocol (NIX_GET_COMPLETIONS), so
# private ids, LAYER.id and attributes of private flakes complete, and
# everything else completes as nix's own completion does.

_nixp_complete() {
    local -a words
    local cword cur
    if declare -F _get_comp_words_by_ref > /dev/null; then
        _get_comp_words_by_ref -n ':=&' words cword cur
    else
        # Without bash-completion: split the line up to the cursor at
        # blanks only (COMP_WORDS is also split at ':' and '=', which would
        # count `github:o/r` as three words).
        local line=${COMP_LINE:0:COMP_POINT}
        read -ra words <<< "$line"
        [[ -z $line || $line == *[[:blank:]] ]] && words+=("")
        cword=$((${#words[@]} - 1))
        cur=${words[cword]}
    fi
    local line kind=""
    COMPREPLY=()
    while IFS= read -r line; do
        if [[ -z $kind ]]; then
            kind=$line
            case $kind in
                filenames) compopt -o filenames 2> /dev/null ;;
                attrs) compopt -o nospace 2> /dev/null ;;
            esac
        else
            COMPREPLY+=("${line%%$'\t'*}")
        fi
    done < <(NIX_GET_COMPLETIONS=$cword nixp "${words[@]:1}" 2> /dev/null)
    if declare -F __ltrim_colon_completions > /dev/null; then
        __ltrim_colon_completions "$cur"
    fi
}

complete -F _nixp_complete nixp
