# Helpers of hack/demo.sh to run a program in the background and notice at
# once when it cannot start or stops. Source it. Tested by hack/process_test.go.

# port_free succeeds when nothing listens on 127.0.0.1:PORT.
port_free() { # port
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port prints the first port from FROM on (at most 100 tried) that
# nothing listens on and that is not among the ports given after it.
free_port() { # from [taken...]
	local p="$1" last=$(($1 + 100))
	shift
	while ((p < last)); do
		if port_free "${p}" && [[ " $* " != *" ${p} "* ]]; then
			echo "${p}"
			return 0
		fi
		p=$((p + 1))
	done
	echo "no free port on 127.0.0.1 between $((last - 100)) and $((last - 1))" >&2
	return 1
}

# died says that the program of PID, logging to LOG, is gone, with the
# last lines of its log, and fails.
died() { # name log
	echo "$1 exited; the last lines of its log ($2):" >&2
	tail -n 30 "$2" >&2
	return 1
}

# guard runs a command while watching the program of PID (its log LOG): it
# returns the command's status, or stops it and fails with the program's
# last log lines as soon as the program exits.
guard() { # name pid log command...
	local name="$1" pid="$2" log="$3"
	shift 3
	"$@" &
	local cmd=$!
	while kill -0 "${cmd}" 2>/dev/null; do
		if ! kill -0 "${pid}" 2>/dev/null; then
			kill "${cmd}" 2>/dev/null || true
			wait "${cmd}" 2>/dev/null || true
			died "${name}" "${log}"
			return 1
		fi
		sleep 0.2
	done
	wait "${cmd}"
}
