<?php
// Logging out on a PHP page ends the session for the Swift pages too.
session_start();
session_destroy();
header('Content-Type: text/plain');
echo "logged out\n";
