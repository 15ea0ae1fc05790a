<?php
// Adds 1 to the session's counter n, as the Swift page's POST /incr?key=n does.
session_start();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
header('Content-Type: text/plain');
echo $_SESSION['n'], "\n";
