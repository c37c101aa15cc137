#!/bin/bash
# loops.sh: a bash workload for the transparency tests: loops, arithmetic,
# arrays, associative arrays, functions, string operations, command
# substitution and ( subshells ) (forked copies of bash), pipelines with
# builtins, and a here-document. Deterministic output; exits with status 4.
set -u

fib() {
    local n=$1 a=0 b=1 i
    for ((i = 0; i < n; i++)); do
        ((b = a + b, a = b - a))
    done
    echo "$a"
}

declare -A seen
total=0
for ((i = 1; i <= 3000; i++)); do
    if ((i % 15 == 0)); then
        word=fizzbuzz
    elif ((i % 5 == 0)); then
        word=buzz
    elif ((i % 3 == 0)); then
        word=fizz
    else
        word=num
    fi
    seen[$word]=$((${seen[$word]:-0} + 1))
    ((total += i * i % 97))
done
echo "total $total"
for key in fizz buzz fizzbuzz num; do
    echo "$key ${seen[$key]}"
done

echo "fib 60 = $(fib 60)"

arr=()
for i in {1..200}; do
    arr+=("item-$((i * 7 % 13))")
done
echo "array ${#arr[@]} first ${arr[0]} last ${arr[-1]}"
joined=$(IFS=,; echo "${arr[*]:0:5}")
echo "joined $joined"

str="The quick brown fox jumps over the lazy dog"
echo "upper ${str^^}"
echo "replace ${str//o/0}"
echo "length ${#str} suffix ${str##* } prefix ${str%% *}"

# Subshells: each is a forked bash; their changes stay inside.
count=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    out=$( (count=$((count + i)); echo "sub$i:$count") )
    echo "$out"
done
echo "count after subshells $count"
( cd / && echo "in subshell: $PWD" )
echo "depth: $( echo "a$( echo "b$( echo c )" )" )"

{ for i in $(seq 1 5); do echo "line $i"; done; } | while read -r a b; do
    echo "$b:$a"
done

cat <<HEREDOC
heredoc total=$total
HEREDOC

exit 4
