<?php
// PHP's own file sessions doing what /incr does: the PHP-FPM row of `make bench`.
session_start();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
header('Content-Type: text/plain');
echo $_SESSION['n'], "\n";
